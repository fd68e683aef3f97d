"""The study spec: one YAML file, validated into typed objects before anything is written.

Every error names where the bad value came from (the file, or the `--set` that overrode it)
and its key path, e.g. `search_spaces/demo.yaml: stages[0].params.k[0] = 1: ...`.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mmrest.config import KMEANS_MODES, PRESETS, STUDY_HYPERPARAMETERS, Hyperparameter, TrainConfig
from mmrest.errors import InputError
from mmrest.metrics import HIGHER_IS_BETTER, METRIC_NAMES
from mmrest.overrides import parse_assignments
from mmrest.stats.defaults import DEFAULT_MIN_EFFECT

if TYPE_CHECKING:
    from mmrest.stats.schedule import Schedule

Objective = Literal[tuple(f"valid_{m}" for m in METRIC_NAMES)]
Metric = Literal[METRIC_NAMES]
NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
_NATURAL_MODE = {f"valid_{m}": ("max" if HIGHER_IS_BETTER[m] else "min") for m in METRIC_NAMES}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatasetSpec(_Strict):
    """A dataset file (`path`, plus `labels` for the MMIM format) or the built-in generator."""

    path: str | None = None
    labels: str | None = None
    synthetic: Literal["mosi", "mosei"] | None = None
    seed: int | None = Field(None, ge=0, description="generator seed (synthetic only; default 0)")
    sizes: dict[str, int | float] | None = Field(None, description="generator size overrides")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.path is None) == (self.synthetic is None):
            raise ValueError("give exactly one of `path` (a dataset file) or `synthetic` (mosi or mosei)")
        if self.path is None and self.labels is not None:
            raise ValueError("`labels` goes with `path` (an MMIM pickle), not with `synthetic`")
        if self.synthetic is None and (self.seed is not None or self.sizes is not None):
            raise ValueError("`seed` and `sizes` configure `synthetic` data; drop them for a dataset file")
        return self


class ObjectiveSpec(_Strict):
    """A validation metric (test metrics never drive a choice) and its direction."""

    metric: Objective = "valid_mae"
    mode: Literal["min", "max"] = "min"

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "mode" not in raw and raw.get("metric") in _NATURAL_MODE:
            return {**raw, "mode": _NATURAL_MODE[raw["metric"]]}
        return raw

    @model_validator(mode="after")
    def _direction(self) -> ObjectiveSpec:
        natural = _NATURAL_MODE[self.metric]
        if self.mode != natural:
            better = "higher" if natural == "max" else "lower"
            raise ValueError(f"{self.metric} is better when {better}; use mode: {natural}")
        return self


class RangeSpec(_Strict):
    """A TPE search range."""

    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if not self.low < self.high:
            raise ValueError(f"need low < high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class RefineSpec(_Strict):
    source: str = Field(alias="from", description="name of an earlier one_at_a_time or grid stage")
    points: int = Field(ge=1, description="new values per parameter between the winner's neighbours")


class StageSpec(_Strict):
    """A stage of the spec, or the `analysis` stage that `mmrest-study analyze` adds (its trials
    are planned by the analysis, so it takes no grid)."""

    name: str = Field(pattern=NAME_PATTERN)
    design: Literal["one_at_a_time", "grid", "tpe", "analysis"]
    params: dict[Hyperparameter, list[int | float]] | None = None
    refine: RefineSpec | None = None
    ranges: dict[Hyperparameter, RangeSpec] | None = None
    n_trials: int | None = Field(None, ge=1, description="points TPE samples (each runs once per seed)")
    sampler_seed: int = Field(0, ge=0)

    @field_validator("params", mode="before")
    @classmethod
    def _modes_by_index(cls, value: Any) -> Any:
        # `kmeans_mode: [warm, restart]` reads as the numbers a study holds (their index).
        if isinstance(value, dict) and isinstance(value.get("kmeans_mode"), list):
            unknown = [v for v in value["kmeans_mode"] if isinstance(v, str) and v not in KMEANS_MODES]
            if unknown:
                raise ValueError(f"kmeans_mode takes {' or '.join(KMEANS_MODES)} (0 or 1); got {unknown[0]!r}")
            modes = [KMEANS_MODES.index(v) if isinstance(v, str) else v for v in value["kmeans_mode"]]
            return {**value, "kmeans_mode": modes}
        return value

    @model_validator(mode="after")
    def _fits_design(self) -> StageSpec:
        if self.design == "analysis":
            if any(v is not None for v in (self.params, self.refine, self.ranges, self.n_trials)):
                raise ValueError("the analysis stage's trials come from `mmrest-study analyze`; it takes no grid")
            return self
        if self.design == "tpe":
            if self.params is not None or self.refine is not None:
                raise ValueError("a tpe stage takes `ranges` and `n_trials`, not `params` or `refine`")
            if not self.ranges or self.n_trials is None:
                raise ValueError("a tpe stage needs `ranges` (at least one) and `n_trials`")
            return self
        if self.ranges is not None or self.n_trials is not None:
            raise ValueError(f"`ranges` and `n_trials` belong to tpe stages, not to {self.design}")
        if (self.params is None) == (self.refine is None):
            raise ValueError("give exactly one of `params` (values per hyperparameter) or `refine`")
        if self.params is not None and not self.params:
            raise ValueError("empty `params`: list at least one hyperparameter and its values")
        return self


class ResourcesSpec(_Strict):
    cpu: float = Field(1.0, gt=0, description="CPUs per trial; fractions allowed")
    gpu: float = Field(0.0, ge=0, description="GPUs per trial; fractions allowed")


class RacingSeeds(_Strict):
    """Seeds raced: every point starts with the first `start` seeds of `list` and gets the next
    one, up to `max`, while its comparisons are undecided (docs/statistics.md)."""

    seeds: list[int] = Field(alias="list", min_length=2, description="the ordered seeds to draw from")
    start: int = Field(ge=2, description="seeds every point runs before the first look")
    max: int = Field(ge=2, description="the most seeds any point runs")

    @model_validator(mode="after")
    def _fits(self) -> RacingSeeds:
        if len(set(self.seeds)) != len(self.seeds):
            repeated = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
            raise ValueError(f"list repeats seed(s) {repeated}; list each seed once")
        if self.start > self.max:
            raise ValueError(f"start = {self.start} exceeds max = {self.max}; lower start or raise max")
        if self.max > len(self.seeds):
            raise ValueError(f"max = {self.max} needs {self.max} seeds but list has {len(self.seeds)}; "
                             "add seeds to list or lower max")
        return self


class RaySpec(_Strict):
    address: str | None = Field(None, description='null: a local runtime; "auto" or ray://host:port')
    num_gpus: float | None = Field(
        None, ge=0, description="GPUs of a local runtime, where Ray cannot detect them (null: Ray detects them)")

    @model_validator(mode="after")
    def _gpus_of_a_local_runtime(self) -> RaySpec:
        if self.num_gpus is not None and self.address is not None:
            raise ValueError("num_gpus declares the GPUs of a local runtime; a cluster's nodes declare their own "
                             "(ray start --num-gpus); drop one of address and num_gpus")
        return self


class StudySpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    dataset: DatasetSpec
    base: str = "mosi"
    train: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] | RacingSeeds = Field(
        description="the seeds every point runs, or {list, start, max} to race them (docs/statistics.md)")
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    min_effect: dict[Metric, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: dict(DEFAULT_MIN_EFFECT), description="per validation metric, the smallest difference that matters "
        "(in the metric's units); the rest keep their defaults")
    stages: list[StageSpec] = Field(min_length=1)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    max_concurrent: int = Field(1, ge=1)
    storage: str | None = None
    ray: RaySpec = Field(default_factory=RaySpec)

    @field_validator("base")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; choose one of: {', '.join(PRESETS)}")
        return value

    @field_validator("stages")
    @classmethod
    def _no_analysis_stage(cls, value: list[StageSpec]) -> list[StageSpec]:
        if any(stage.design == "analysis" for stage in value):
            raise ValueError("design `analysis` is added by `mmrest-study analyze`; use one_at_a_time, grid or tpe")
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int] | RacingSeeds) -> list[int] | RacingSeeds:
        if isinstance(value, list):
            if not value:
                raise ValueError("list at least one seed")
            if len(set(value)) != len(value):
                raise ValueError("seeds repeat; list each seed once")
        return value

    @field_validator("min_effect")
    @classmethod
    def _with_defaults(cls, value: dict[str, float]) -> dict[str, float]:
        return {**DEFAULT_MIN_EFFECT, **value}

    @property
    def seed_list(self) -> list[int]:
        """Every seed a point may run, in order."""
        return list(self.seeds.seeds) if isinstance(self.seeds, RacingSeeds) else list(self.seeds)

    @property
    def racing(self) -> RacingSeeds | None:
        return self.seeds if isinstance(self.seeds, RacingSeeds) else None

    @property
    def start_seeds(self) -> list[int]:
        """The seeds every point of a stage runs: all of them, or the first `start` when racing
        (grid and tpe stages run just these; one_at_a_time stages race on from them)."""
        return self.seed_list[: self.racing.start] if self.racing else self.seed_list

    @property
    def max_seeds(self) -> list[int]:
        """The most seeds a point runs (the analysis stage runs these)."""
        return self.seed_list[: self.racing.max] if self.racing else self.seed_list

    def schedule(self) -> Schedule:
        """When comparisons are looked at: every racing round, or once for a plain seed list."""
        from mmrest.stats.schedule import Schedule  # scipy: not needed to validate a spec

        n = len(self.start_seeds), len(self.max_seeds)
        return Schedule(start=n[0], max=n[1])
    def stage(self, name: str) -> StageSpec:
        return next(s for s in self.stages if s.name == name)

    def resolved(self) -> dict:
        """Every field, defaults filled in: what the study folder keeps."""
        return self.model_dump(mode="json", by_alias=True)


# ---------------------------------------------------------------- loading


def load_spec(path: str | Path, sets: list[str] | tuple[str, ...] = ()) -> StudySpec:
    """Read, override (`--set KEY=VALUE`) and validate a spec file; InputError names the key."""
    path = Path(path)
    raw = _read_yaml(path)
    applied = [_apply_set(raw, item) for item in sets]
    return validate_spec(raw, source=str(path), sets=dict(applied))


def validate_spec(raw: dict, *, source: str, sets: dict[str, str] | None = None, check_files: bool = True) -> StudySpec:
    """`raw` as a StudySpec with every value checked; `sets` maps overridden dotted paths to the
    `--set` text that put them there, so an error blames the flag rather than the file.
    `check_files` False skips the dataset files' existence (reading a finished study's spec)."""
    sets = sets or {}
    try:
        spec = StudySpec.model_validate(raw)
    except ValidationError as err:
        # dict.fromkeys: a bad value in a union is reported once per member.
        lines = dict.fromkeys(_describe(e, source, sets) for e in _relevant(err.errors()))
        raise InputError("\n".join(lines)) from None
    spec = _absolute_paths(spec)
    _check_stages(spec, source, sets)
    _check_train(spec, source, sets, check_files)
    _check_values(spec, source, sets)
    _check_dataset(spec, source, sets, check_files)
    return spec


def _absolute_paths(spec: StudySpec) -> StudySpec:
    """Files read from the working directory, made absolute: a resume from another folder, and
    every trial on every worker, read the same files, and a message names the file in full."""
    absolute = {k: str(Path(v).resolve()) for k in ("path", "labels") if (v := getattr(spec.dataset, k))}
    train = dict(spec.train)
    if isinstance(train.get("bert_path"), str):
        train["bert_path"] = str(Path(train["bert_path"]).resolve())
    return spec.model_copy(update={"dataset": spec.dataset.model_copy(update=absolute), "train": train})


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise InputError(f"{path}: no such spec file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise InputError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a spec is a YAML mapping (name:, dataset:, stages:, ...), got {type(raw).__name__}")
    return raw


def _apply_set(raw: dict, item: str) -> tuple[str, str]:
    """Apply one `KEY=VALUE` (dotted path, list indices as numbers; VALUE read as YAML) in place;
    returns the dotted path and the flag's text."""
    ((key, value),) = parse_assignments([item]).items()
    parts = key.split(".")
    if not all(parts):
        raise InputError(f"--set {item}: empty part in the key; write a dotted path such as train.max_epochs")
    node: Any = raw
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the spec"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise InputError(f"--set {item}: {here} is a list of {len(node)}; index it with 0..{len(node) - 1}")
            part = int(part)
        elif not isinstance(node, dict):
            raise InputError(f"--set {item}: {here} is a value, not a section")
        if depth == len(parts) - 1:
            node[part] = value
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]
    return key, item


def key_path(loc: tuple) -> str:
    """('stages', 0, 'params', 'k', 2) -> 'stages[0].params.k[2]'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _source_of(loc: tuple, source: str, sets: dict[str, str]) -> str:
    dotted = ".".join(str(p) for p in loc)
    for path, item in sets.items():
        if dotted == path or dotted.startswith(path + ".") or path.startswith(dotted + "."):
            return f"--set {item}"
    return source


# Pydantic appends a union member's tag, or `[key]` for a dict key, to an error's location.
_UNION_TAG = re.compile(r"^(\[key\]|int|float|list\[int\]|function-\w+\[.*\]|RacingSeeds)$")
# What a union member says when the value is of another kind: noise when another member explains.
_KIND_MISMATCH = ("list_type", "model_type", "dict_type", "model_attributes_type")


def _relevant(errors: list[dict]) -> list[dict]:
    """A value of a union that fails its own member is reported by that member alone."""
    def field(error: dict) -> tuple:
        return tuple(p for p in error["loc"] if not isinstance(p, str) or not _UNION_TAG.match(p))[:1]

    explained = {field(e) for e in errors if e["type"] not in _KIND_MISMATCH}
    return [e for e in errors if e["type"] not in _KIND_MISMATCH or field(e) not in explained]


def _describe(error: dict, source: str, sets: dict[str, str]) -> str:
    loc = tuple(p for p in error["loc"] if not isinstance(p, str) or not _UNION_TAG.match(p))
    where = f"{_source_of(loc, source, sets)}: {key_path(loc)}"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key. Known keys here: {', '.join(_known_keys(loc))}"
    if error["type"] == "literal_error" and error["loc"][-1] == "[key]" and loc[0] == "min_effect":
        return f"{where}: unknown metric; use one of {', '.join(METRIC_NAMES)}"
    if error["type"] == "literal_error" and error["loc"][-1] == "[key]":
        return f"{where}: unknown hyperparameter; use one of {', '.join(STUDY_HYPERPARAMETERS)}"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    if error["loc"] and error["loc"][-1] in ("int", "float"):
        return f"{where} = {error.get('input')!r}: must be a number"
    message = error["msg"].removeprefix("Value error, ")
    if isinstance(error.get("input"), dict):
        return f"{where}: {message}"
    return f"{where} = {error.get('input')!r}: {message}"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, (_model_in(arg) for arg in get_args(annotation))), None)


def _known_keys(loc: tuple) -> list[str]:
    model: type[BaseModel] | None = StudySpec
    for part in loc[:-1]:
        if model is not None and part in model.model_fields:
            model = _model_in(model.model_fields[part].annotation)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _check_stages(spec: StudySpec, source: str, sets: dict[str, str]) -> None:
    """Stage names are unique, and a refine stage refines an earlier grid or one_at_a_time stage."""
    seen: dict[str, StageSpec] = {}
    for i, stage in enumerate(spec.stages):
        if stage.name in seen:
            loc = ("stages", i, "name")
            raise InputError(f"{_source_of(loc, source, sets)}: {key_path(loc)} = {stage.name!r}: "
                             "used by an earlier stage; stage names must differ")
        if stage.refine is not None:
            loc = ("stages", i, "refine", "from")
            where = f"{_source_of(loc, source, sets)}: {key_path(loc)} = {stage.refine.source!r}"
            source_stage = seen.get(stage.refine.source)
            if source_stage is None:
                raise InputError(f"{where}: not an earlier stage; name one of: {', '.join(seen) or '(none)'}")
            if source_stage.design == "tpe":
                raise InputError(f"{where}: a tpe stage has no grid to refine; refine a one_at_a_time or grid stage")
        seen[stage.name] = stage


def _check_train(spec: StudySpec, source: str, sets: dict[str, str], check_files: bool) -> None:
    if "seed" in spec.train:
        where = _source_of(("train", "seed"), source, sets)
        raise InputError(f"{where}: train.seed: each trial's seed comes from `seeds`; remove train.seed")
    _train_config(spec, {}, ("train",), source, sets, check_files=check_files)


def _train_config(spec: StudySpec, extra: dict, loc: tuple, source: str, sets: dict[str, str],
                  *, check_files: bool = False) -> TrainConfig:
    """The training config of the base point with `extra` applied; InputError names `loc` and the
    source of its value. The BERT folder is checked once, for `train` (`check_files`)."""
    values = {**PRESETS[spec.base], **spec.train, **extra}
    try:
        return TrainConfig.model_validate(values, context={"check_files": check_files})
    except ValidationError as err:
        lines = []
        for e in err.errors():
            full = loc + tuple(e["loc"]) if loc == ("train",) else loc
            where = f"{_source_of(full, source, sets)}: {key_path(full)}"
            if e["type"] == "extra_forbidden":
                lines.append(f"{where}: unknown training option. Known: {', '.join(TrainConfig.model_fields)}")
            elif not e["loc"]:
                lines.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
            else:
                lines.append(f"{where} = {e.get('input')!r}: {e['msg']}")
        raise InputError("\n".join(lines)) from None


def _check_values(spec: StudySpec, source: str, sets: dict[str, str]) -> None:
    """Every listed or range value must be a valid training value (k >= 2 and integer, ...)."""
    for i, stage in enumerate(spec.stages):
        for name, values in (stage.params or {}).items():
            loc = ("stages", i, "params", name)
            if not values:
                raise InputError(f"{_source_of(loc, source, sets)}: {key_path(loc)}: empty grid; "
                                 "list at least one value")
            if len(set(values)) != len(values):
                raise InputError(f"{_source_of(loc, source, sets)}: {key_path(loc)} = {values}: a value repeats")
            for j, value in enumerate(values):
                if isinstance(value, float) and not math.isfinite(value):
                    where = _source_of(loc, source, sets)
                    raise InputError(f"{where}: {key_path(loc + (j,))} = {value}: must be a finite number")
                _train_config(spec, {name: value}, loc + (j,), source, sets)
        for name, rng in (stage.ranges or {}).items():
            for bound in ("low", "high"):
                loc = ("stages", i, "ranges", name, bound)
                _train_config(spec, {name: getattr(rng, bound)}, loc, source, sets)


def _check_dataset(spec: StudySpec, source: str, sets: dict[str, str], check_files: bool) -> None:
    data = spec.dataset
    if data.synthetic is not None:
        from mmrest.data.synthetic import resolve_spec

        try:
            resolve_spec(data.synthetic, dict(data.sizes or {}))
        except InputError as err:
            loc = ("dataset", "sizes")
            raise InputError(f"{_source_of(loc, source, sets)}: dataset.sizes: {err}") from None
        return
    for key in ("path", "labels") if check_files else ():
        value = getattr(data, key)
        if value is not None and not Path(value).is_file():
            loc = ("dataset", key)
            raise InputError(
                f"{_source_of(loc, source, sets)}: dataset.{key} = {value!r}: no such file "
                f"(relative paths are read from {Path.cwd()})"
            )
