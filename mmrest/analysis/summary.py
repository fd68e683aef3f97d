"""All three analyses of one analysed configuration, from the models each variant trained.

`compute_analysis` is pure: it takes the loaded outputs of every (variant, seed) that trained and
returns one `Analysis` record; `mmrest.analysis.store` writes and reads it as JSON.
"""
from __future__ import annotations

from dataclasses import dataclass

from mmrest.analysis.ablation import AblationRow, ablation
from mmrest.analysis.case_study import CaseStudy, Predictions, case_study
from mmrest.analysis.outputs import ModelOutputs
from mmrest.analysis.variance import VarianceRow, variance_settings, variance_table
from mmrest.analysis.variants import FULL, VARIANTS, Variant, coinciding
from mmrest.metrics import msa_metrics
from mmrest.stats import DEFAULT_MIN_EFFECT


@dataclass(frozen=True)
class Run:
    """One trained model of the analysis stage."""

    variant: str
    seed: int
    outputs: ModelOutputs


@dataclass(frozen=True)
class CaseOptions:
    largest: int = 2
    smallest: int = 2
    random: int = 2
    seed: int = 0


@dataclass(frozen=True)
class Analysis:
    study: str
    config: dict[str, float]  # the seven hyperparameters of the full model
    config_source: str  # where they came from: the report's choice, or a file
    beta: float  # the ridge of the local metrics, needed by variance setting (a)
    seeds: tuple[int, ...]
    min_effect: dict[str, float]  # per metric, what the ablation verdicts were judged by
    variants: tuple[Variant, ...]
    missing: tuple[str, ...]  # "variant, seed N" planned but without outputs (failed or not run)
    ablation: tuple[AblationRow, ...]
    variance: tuple[VarianceRow, ...]
    cases: CaseStudy
    notes: tuple[str, ...]


def compute_analysis(
    runs: list[Run], *, study: str, config: dict[str, float], config_source: str, beta: float,
    seeds: tuple[int, ...], min_effect: dict[str, float] = DEFAULT_MIN_EFFECT, texts: dict[str, str] | None = None,
    cases: CaseOptions = CaseOptions(),
) -> Analysis:
    """Ablations, variance analysis and case study. Needs at least one full-model run."""
    by_variant = {v.name: sorted((r for r in runs if r.variant == v.name), key=lambda r: r.seed) for v in VARIANTS}
    if not by_variant[FULL]:
        raise ValueError("no full-model run: the analyses compare against it")
    done = {(r.variant, r.seed) for r in runs}
    missing = tuple(f"{v.name}, seed {s}" for v in VARIANTS for s in seeds if (v.name, s) not in done)
    return Analysis(
        study=study, config=dict(config), config_source=config_source, beta=beta, seeds=tuple(seeds),
        min_effect=dict(min_effect),
        variants=VARIANTS, missing=missing,
        ablation=ablation(
            {name: {r.seed: msa_metrics(r.outputs.pred, r.outputs.labels) for r in rs} for name, rs in by_variant.items()},
            reference=FULL, min_effect=min_effect,
        ),
        variance=variance_table({
            name: {r.seed: _settings(r.outputs, beta) for r in rs} for name, rs in by_variant.items()
        }, reference=FULL),
        cases=case_study(
            {name: [Predictions(r.outputs.ids, r.outputs.labels, r.outputs.pred) for r in rs]
             for name, rs in by_variant.items()},
            reference=FULL, texts=texts, largest=cases.largest, smallest=cases.smallest,
            random=cases.random, seed=cases.seed,
        ),
        notes=tuple(coinciding(config)),
    )


def _settings(o: ModelOutputs, beta: float):
    return variance_settings(o.z, o.labels, M0=o.M0, dM=o.dM, centers=o.centers, active=o.active, beta=beta)
