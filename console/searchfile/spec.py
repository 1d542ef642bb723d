"""The search spec: frozen dataclasses and their validation from a parsed TOML document."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from console.search.base import DEFAULT_STRATEGY, STRATEGY_NAMES, space_errors, strategy_problem
from console.search.objectives import objectives_errors
from console.search.pruning import PruningSpec, read_pruning
from console.search.space import Param, decode_none, describe, parse_space, suggest
from console.searchfile import tabular_spec
from console.searchfile.spec_checks import check_model, check_scoring, scorer_names
from console.searchfile.tomlcheck import Section

SKLEARN_DATASETS = ("iris", "wine", "digits", "breast_cancer", "diabetes")
SPEC_TABLES = ("search", "dataset", "model", "space", "cluster", "export")
_NAME = re.compile(r"[A-Za-z0-9._-]+")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_BIND = re.compile(r"tcp://\S+:(\d{1,5}|\*)")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
MAX_SEED = 2**32 - 1  # scikit-learn's random_state must fit in 32 bits


@dataclass(frozen=True)
class DatasetSpec:
    source: str
    target: str | None = None
    sha256: str | None = None
    features: tuple[str, ...] | None = None  # None: every column but the target
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    estimator: str
    fixed: dict[str, Any] = field(default_factory=dict)
    pipeline: dict[str, Any] = field(default_factory=dict)  # empty: the bare estimator


@dataclass(frozen=True)
class ClusterSpec:
    bind: str = "tcp://127.0.0.1:5555"
    local_nodes: int = 2
    local_slots: int | None = None  # None: the console decides
    heartbeat_s: float = 1.0
    keys_dir: str | None = None
    # Work remains and no node can take it (none connected, all quarantined or draining): a
    # headless console gives up after this long, exit 1. 0: wait for nodes forever.
    stall_timeout_s: float = 600.0


@dataclass(frozen=True)
class ExportSpec:
    bucket: str = "models"
    auto: bool = False


@dataclass(frozen=True)
class SearchSpec:
    name: str
    strategy: str
    max_trials: int | None
    seed: int
    metric: str
    cv: int
    trial_timeout_s: float
    max_attempts: int
    dataset: DatasetSpec
    model: ModelSpec
    space: dict[str, Param]
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    export: ExportSpec = field(default_factory=ExportSpec)
    metrics: tuple[str, ...] = ()  # every metric recorded, `metric` first; empty: only `metric`
    scorers: dict[str, dict[str, Any]] = field(default_factory=dict)  # [search.scorers]
    splitter: dict[str, Any] = field(default_factory=dict)  # [search.cv]; empty: `cv` shuffled
    pruning: PruningSpec = field(default_factory=PruningSpec)
    parallelism: int | None = None  # a hint for model-based strategies; None: from [cluster]
    objectives: tuple[str, ...] = ()  # several objectives (search/objectives.py); empty: metric

    def slots_hint(self) -> int:
        """Trials likely to run at once: `[search] parallelism`, else the local nodes' slots
        (cores shared among them when local_slots is unset), else 8 for remote nodes."""
        if self.parallelism is not None:
            return self.parallelism
        local = self.cluster.local_nodes
        if local == 0:
            return 8
        per_node = self.cluster.local_slots or max(1, (os.cpu_count() or 1) // local)
        return local * per_node

    def dataset_ref(self) -> dict[str, Any]:
        """What a node needs to fetch and verify the dataset (new keys only when set, so old
        specs hash and travel exactly as before)."""
        ref = {k: v for k, v in asdict(self.dataset).items() if k not in ("features", "drop")}
        if self.dataset.features is not None:
            ref["features"] = list(self.dataset.features)
        if self.dataset.drop:
            ref["drop"] = list(self.dataset.drop)
        if self.splitter.get("group"):
            ref["group"] = self.splitter["group"]
        return ref

    def scoring(self) -> dict[str, Any]:
        """The TASK's scoring description; empty when the one `metric` is all there is."""
        if not self.metrics and not self.scorers:
            return {}
        return {
            "metrics": list(self.metrics or (self.metric,)),
            "rank": self.metric,
            "scorers": self.scorers,
        }

    def config_hash(self) -> str:
        """16 hex chars identifying everything that determines the results (not cluster/export)."""
        canonical = self.config_canonical()
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def config_canonical(self) -> dict[str, Any]:
        """What config_hash covers, as plain data (searchfile/spec_changes.py compares it key by key
        to tell a budget or space change, which keeps results, from one that does not)."""
        canonical: dict[str, Any] = {
            "strategy": self.strategy,
            "seed": self.seed,
            "max_trials": self.max_trials,
            "metric": self.metric,
            "cv": self.cv,
            "dataset": self.dataset_ref(),
            "model": {"estimator": self.model.estimator, "fixed": self.model.fixed},
            # A list, not a table: parameter order changes the grid order and the random draws.
            "space": [[name, param.to_toml()] for name, param in self.space.items()],
        }
        # Only when set: a search file without them keeps the hash it always had.
        if self.model.pipeline:
            canonical["model"]["pipeline"] = self.model.pipeline
        for key, value in (("scoring", self.scoring()), ("splitter", self.splitter)):
            if value:
                canonical[key] = value
        # Only when set, so the hashes of searches saved before these keys existed still match.
        if self.pruning.enabled:
            canonical["pruning"] = self.pruning.to_toml()
        if self.parallelism is not None:
            canonical["parallelism"] = self.parallelism
        if self.objectives:
            canonical["objectives"] = list(self.objectives)
        return canonical


def spec_from_dict(data: dict[str, Any]) -> tuple[SearchSpec | None, list[str]]:
    """(spec, []) or (None, every 'dotted.key: message' error); [state] is left to the caller."""
    errors: list[str] = []
    parts: dict[str, Any] = {}
    for name, reader in _READERS.items():
        table = _table(data, name, errors, required=name not in ("cluster", "export"))
        parts[name] = None if table is None else reader(table, errors)
    space: dict[str, Param] = {}
    space_table = _table(data, "space", errors, required=True)
    if space_table is not None:
        space, space_problems = parse_space(space_table, "space")
        errors += space_problems + _cross_check(data, space, space_table, parts)
    if errors or None in parts.values():
        return None, errors
    search = parts.pop("search")
    return SearchSpec(space=space, **parts, **search), []


def _cross_check(
    data: dict[str, Any], space: dict[str, Param], space_table: dict[str, Any], parts: dict
) -> list[str]:
    """Checks across tables, run on the raw tables so they report alongside any other error."""
    raw_search, raw_model = (data.get(name) for name in ("search", "model"))
    strategy = (
        raw_search.get("strategy", DEFAULT_STRATEGY) if isinstance(raw_search, dict) else None
    )
    errors = space_errors(strategy, space) if strategy in STRATEGY_NAMES else []
    estimator = raw_model.get("estimator") if isinstance(raw_model, dict) else None
    if not isinstance(estimator, str):
        return errors
    fixed = raw_model.get("fixed", {})
    model = parts.get("model")
    pipeline = model.pipeline if model is not None else {}
    model_errors = check_model(
        estimator, fixed if isinstance(fixed, dict) else {}, space_table, pipeline, space
    )
    errors += model_errors
    search, dataset = parts.get("search"), parts.get("dataset")
    if search is not None and dataset is not None and not model_errors:
        for metric in search["metrics"] or (search["metric"],):
            errors += check_scoring(estimator, metric, dataset.source, search["scorers"])
    return errors


def _table(data: dict[str, Any], name: str, errors: list[str], *, required: bool) -> Any:
    if name not in data:
        if required:
            errors.append(f"{name}: missing required table [{name}]")
            return None
        return {}
    value = data[name]
    if not isinstance(value, dict):
        errors.append(f"{name}: expected a table, got {describe(value)}")
        return None
    return value


def _read_search(table: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
    s = Section(table, "search", errors)
    name = s.string("name")
    if name is not None and (not _NAME.fullmatch(name) or name in (".", "..")):
        s.error("name", f"must be letters, digits, '.', '_' or '-' (got {name!r})")
    strategy = s.choice("strategy", STRATEGY_NAMES, default=DEFAULT_STRATEGY)
    problem = strategy_problem(strategy) if strategy else None
    if problem:
        s.error("strategy", problem)
    max_trials = s.integer("max_trials", default=None, minimum=1)
    if strategy not in (None, "grid") and "max_trials" not in table:
        s.error("max_trials", f'required for strategy = "{strategy}"')
    seed = s.integer("seed", default=0, minimum=0, maximum=MAX_SEED)
    anything = lambda value: True  # noqa: E731  (read and checked by tabular_spec)
    scorers = tabular_spec.read_scorers(
        s.get("scorers", {}, "a table", anything), "search.scorers", errors
    )
    s.get("metric", None, "a string", anything)
    s.get("metrics", None, "an array", anything)
    metric, metrics = tabular_spec.read_metrics(table, errors, scorer_names(), scorers)
    cv, splitter = tabular_spec.read_cv(s.get("cv", 5, "", anything), "search.cv", errors)
    objectives = s.get("objectives", None, "", anything)
    if metric is not None:
        pruned = isinstance(table.get("pruning"), dict) and table["pruning"].get("pruner") != "none"
        errors += objectives_errors(objectives, strategy, metrics or (metric,), pruned)
    values = {
        "name": name,
        "strategy": strategy,
        "max_trials": max_trials,
        "seed": seed,
        "metric": metric,
        "metrics": metrics,
        "scorers": scorers,
        "splitter": splitter,
        "cv": cv,
        "trial_timeout_s": s.number("trial_timeout_s", default=600.0, positive=True),
        "max_attempts": s.integer("max_attempts", default=3, minimum=1),
        "parallelism": s.integer("parallelism", default=None, minimum=1),
        "pruning": read_pruning(s.table_("pruning", default=None), _cv_of(s), errors),
        "objectives": tuple(objectives or ()),
    }
    ok = s.finish() and ("pruning" not in table or values["pruning"] is not None)
    return values if ok else None


def _cv_of(s: Section) -> int | None:
    cv = s.table.get("cv", 5)
    return cv if isinstance(cv, int) and not isinstance(cv, bool) else None


def _read_dataset(table: dict[str, Any], errors: list[str]) -> DatasetSpec | None:
    s = Section(table, "dataset", errors)
    source = s.string("source")
    target = s.string("target", default=None)
    sha256 = s.string("sha256", default=None)
    features, drop = tabular_spec.read_dataset_columns(s)
    is_sklearn = source is not None and source.startswith("sklearn:")
    if source is not None:
        problem = _source_problem(source)
        if problem:
            s.error("source", problem)
    if is_sklearn:
        # Built-in datasets carry their own target and are generated, not downloaded.
        for key, value in (("target", target), ("sha256", sha256)):
            if value is not None:
                s.error(key, "only applies to file: and s3:// sources")
    elif target is None:
        target = "target"
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        s.error("sha256", "must be 64 hexadecimal characters")
    sha256 = sha256.lower() if sha256 else None
    spec = DatasetSpec(source, target, sha256, features, drop)
    return spec if s.finish() else None


def _source_problem(source: str) -> str | None:
    if source.startswith("sklearn:"):
        name = source.removeprefix("sklearn:")
        if name not in SKLEARN_DATASETS:
            return (
                f"unknown scikit-learn dataset {name!r}{suggest(name, SKLEARN_DATASETS)}; "
                f"choose from {', '.join(SKLEARN_DATASETS)}"
            )
        return None
    if source.startswith("file:"):
        path = source.removeprefix("file:")
        return None if path.endswith(".csv") and len(path) > 4 else "expected file:PATH.csv"
    if source.startswith("s3://"):
        bucket, _, key = source.removeprefix("s3://").partition("/")
        ok = bucket and key.endswith(".csv") and len(key) > 4
        return None if ok else "expected s3://BUCKET/KEY.csv"
    return "expected sklearn:NAME, file:PATH.csv or s3://BUCKET/KEY.csv"


def _read_model(table: dict[str, Any], errors: list[str]) -> ModelSpec | None:
    s = Section(table, "model", errors)
    estimator = s.string("estimator")
    fixed = s.table_("fixed", default={})
    s.get("steps", None, "a table", lambda value: True)
    s.get("columns", None, "a table", lambda value: True)
    pipeline = tabular_spec.read_pipeline(table, errors)
    if fixed is not None:
        fixed = decode_none(fixed)
        for name, value in fixed.items():
            problem = _value_problem(value)
            if problem:
                s.error(f"fixed.{name}", problem)
    return ModelSpec(estimator, fixed, pipeline) if s.finish() else None


def _value_problem(value: Any) -> str | None:
    """Why a fixed value cannot travel to a node as JSON, or None."""
    if value is None or isinstance(value, str | int | float | bool):
        return None
    if isinstance(value, list):
        return next(filter(None, map(_value_problem, value)), None)
    if isinstance(value, dict):
        return next(filter(None, map(_value_problem, value.values())), None)
    return f"expected a string, number, boolean, array or table, got {describe(value)}"


def _read_cluster(table: dict[str, Any], errors: list[str]) -> ClusterSpec | None:
    s = Section(table, "cluster", errors)
    bind = s.string("bind", default=ClusterSpec.bind)
    match = _BIND.fullmatch(bind or "")
    # Port 0 or * asks the OS for a free port (tests use it).
    if bind is not None and not (match and (match[1] == "*" or int(match[1]) < 65536)):
        s.error("bind", f"expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:5555 (got {bind!r})")
    spec = ClusterSpec(
        bind=bind,
        local_nodes=s.integer("local_nodes", default=ClusterSpec.local_nodes, minimum=0),
        local_slots=s.integer("local_slots", default=None, minimum=1),
        heartbeat_s=s.number("heartbeat_s", default=ClusterSpec.heartbeat_s, positive=True),
        keys_dir=s.string("keys_dir", default=None),
        stall_timeout_s=s.number("stall_timeout_s", default=ClusterSpec.stall_timeout_s),
    )
    if spec.stall_timeout_s is not None and spec.stall_timeout_s < 0:
        s.error("stall_timeout_s", "expected a number of seconds >= 0 (0: wait forever)")
    return spec if s.finish() else None


def _read_export(table: dict[str, Any], errors: list[str]) -> ExportSpec | None:
    s = Section(table, "export", errors)
    bucket = s.string("bucket", default=ExportSpec.bucket)
    if bucket is not None and not _BUCKET.fullmatch(bucket):
        s.error(
            "bucket", f"not a valid S3 bucket name: 3-63 of a-z, 0-9, '.', '-' (got {bucket!r})"
        )
    spec = ExportSpec(bucket=bucket, auto=s.boolean("auto", default=False))
    return spec if s.finish() else None


_READERS: dict[str, Callable[[dict[str, Any], list[str]], Any]] = {
    "search": _read_search,
    "dataset": _read_dataset,
    "model": _read_model,
    "cluster": _read_cluster,
    "export": _read_export,
}
