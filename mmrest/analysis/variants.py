"""The supplement's three training variants (spec section 6): what each one switches off."""
from __future__ import annotations

from dataclasses import dataclass

FULL = "full"
NO_BIAS = "no_bias"
NO_MMC = "no_mmc_no_bias"


@dataclass(frozen=True)
class Variant:
    name: str  # stable id: trial keys, the trials table's `varied` column, file names
    label: str  # as the supplement's Tables 6 and 7 print it
    overrides: dict[str, float]  # hyperparameters set on top of the analysed configuration


VARIANTS = (
    Variant(FULL, "MMRest (w/ L_MMC, w/ bias)", {}),
    Variant(NO_BIAS, "MMRest (w/ L_MMC, w/o bias)", {"gamma": 0.0}),
    Variant(NO_MMC, "MMRest (w/o L_MMC, w/o bias)", {"eta": 0.0, "gamma": 0.0}),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)


def variant(name: str) -> Variant:
    for v in VARIANTS:
        if v.name == name:
            return v
    raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANT_NAMES)}")


def variant_point(name: str, point: dict[str, float]) -> dict[str, float]:
    """The analysed configuration's hyperparameters with the variant's switches applied."""
    return {**point, **variant(name).overrides}


def coinciding(point: dict[str, float]) -> list[str]:
    """Variants that train the same model as the full one under `point` (e.g. a chosen gamma of
    0 makes 'w/o bias' the full model), as sentences for the report."""
    notes = []
    for v in VARIANTS[1:]:
        if all(point.get(name) == value for name, value in v.overrides.items()):
            notes.append(f"the analysed configuration already has "
                         f"{', '.join(f'{n} = {x:g}' for n, x in v.overrides.items())}, so "
                         f"'{v.label}' trains the same model as the full one")
    return notes
