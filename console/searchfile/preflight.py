"""Pre-flight: load the data, build the pipeline and fit a tiny sample before any trial is sent."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from console.search.space import ChoiceParam, IntParam, Param, is_active
from console.searchfile.spec import SearchSpec
from node import pipelines, splitting
from node.datasets import CATEGORICAL, DatasetError, DatasetUnavailable, Table, load_table

DIAGNOSTIC_ESTIMATOR = "sleep_classifier"
SAMPLE_ROWS = 60  # enough rows for every class and a few folds; small enough to fit at once


@dataclass
class Preflight:
    """What the check found: 'dotted.key: reason' errors, notes, and how long it took."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check(spec: SearchSpec) -> Preflight:
    """Every reason the search would fail all its trials, found before it starts."""
    started = time.perf_counter()
    report = Preflight()
    table = _load(spec, report)
    if table is not None:
        _check_fit(spec, table, report)
    report.seconds = time.perf_counter() - started
    return report


def _load(spec: SearchSpec, report: Preflight) -> Table | None:
    ref = spec.dataset_ref()
    bare = {key: ref[key] for key in ("source", "target", "sha256") if key in ref}
    try:
        whole = load_table(bare)
    except DatasetUnavailable as exc:
        if ref["source"].startswith("s3://"):
            # The nodes may reach the store where the console does not: say so and go on.
            report.notes.append(f"dataset not checked here ({exc}); the nodes will fetch it")
            return None
        report.errors.append(f"dataset.source: {exc}")
        return None
    except DatasetError as exc:
        report.errors.append(f"dataset: {exc}")
        return None
    columns = ", ".join(whole.columns)
    for key, names in (
        ("dataset.features", ref.get("features") or ()),
        ("dataset.drop", ref.get("drop") or ()),
        ("search.cv.group", [ref["group"]] if ref.get("group") else ()),
    ):
        for name in names:
            if name not in whole.columns:
                report.errors.append(
                    f"{key}: no column {name!r} in the dataset; columns: {columns}"
                )
    # Go on without the bad names, so the checks after this one report too (all at once).
    for key in ("features", "drop"):
        if key in ref:
            ref[key] = [name for name in ref[key] if name in whole.columns]
    if ref.get("group") not in (None, *whole.columns):
        del ref["group"]
    try:
        return load_table(ref)
    except DatasetError as exc:
        report.errors.append(f"dataset: {exc}")
        return None


def _check_fit(spec: SearchSpec, table: Table, report: Preflight) -> None:
    from sklearn.base import is_classifier

    errors = report.errors
    pipeline = spec.model.pipeline
    encoded = _encoded_columns(pipeline, table)
    for index, kind in enumerate(table.kinds):
        if kind == CATEGORICAL and index not in encoded:
            name = table.columns[index]
            sample = next(v for v in table.X[:, index] if isinstance(v, str))
            errors.append(
                f"dataset: column {name!r} holds text (e.g. {sample!r}) that no step encodes; "
                "add it to a [model.columns] group with one_hot_encoder or ordinal_encoder, "
                "or list it in dataset.drop"
            )
    params = {**spec.model.fixed, **_first_point(spec.space, pipeline)}
    try:
        model = pipelines.build_model(
            spec.model.estimator,
            params,
            spec.seed,
            pipeline,
            list(table.columns),
            list(table.kinds),
        )
    except ValueError as exc:
        errors.append(f"model: {exc}")
        return
    classifier = is_classifier(model)
    y = table.y
    if classifier and y.dtype.kind == "f":
        errors.append(
            f"dataset.target: {spec.model.estimator} is a classifier but the target "
            "has fractional values; use a regressor"
        )
    if not classifier and y.dtype.kind in "OUS":
        errors.append(
            f"dataset.target: {spec.model.estimator} is a regressor but the target "
            f"holds text (e.g. {y[0]!r}); use a classifier"
        )
    labels = {str(v) for v in np.unique(y)} if classifier else set()
    for name, scorer in spec.scorers.items():
        if "pos_label" in scorer and labels and str(scorer["pos_label"]) not in labels:
            errors.append(
                f"search.scorers.{name}.pos_label: {scorer['pos_label']!r} is not a "
                f"label of the target; labels: {', '.join(sorted(labels))}"
            )
    _check_splits(spec, table, classifier, errors)
    # sleep_classifier sleeps, fails or crashes on purpose (tests, benches): never fit it here.
    if errors or spec.model.estimator == DIAGNOSTIC_ESTIMATOR:
        return
    _fit_sample(spec, model, table, errors)


def _check_splits(spec: SearchSpec, table: Table, classifier: bool, errors: list[str]) -> None:
    cv = spec.splitter
    n_splits = cv.get("n_splits", spec.cv)
    key = "search.cv.n_splits" if cv else "search.cv"
    if n_splits > len(table.y):
        errors.append(f"{key}: {n_splits} splits but only {len(table.y)} rows")
    if table.groups is not None:
        n_groups = len(np.unique(table.groups.astype(str)))
        if n_splits > n_groups:
            errors.append(
                f"{key}: {n_splits} splits but column {cv['group']!r} has only {n_groups} groups"
            )
    stratified = cv.get("kind", "stratified" if classifier else "") in (
        "stratified",
        "repeated_stratified",
        "stratified_group_kfold",
    )
    if stratified and classifier:
        _, counts = np.unique(table.y, return_counts=True)
        if counts.min() < n_splits:
            errors.append(
                f"{key}: the rarest class has {counts.min()} rows, fewer than the "
                f"{n_splits} splits; stratified folds need at least one each"
            )


def _fit_sample(spec: SearchSpec, model: Any, table: Table, errors: list[str]) -> None:
    """Fit on a small sample and score it with every metric: what every trial will do."""
    from sklearn.base import clone

    rows = np.random.default_rng(spec.seed).permutation(len(table.y))[:SAMPLE_ROWS]
    X, y = table.X[rows], table.y[rows]
    names = list(spec.metrics or (spec.metric,))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence on 60 rows says nothing
            fitted = clone(model).fit(X, y)
            for name in names:
                scorer = splitting.build_scorer(name, spec.scorers)
                try:
                    scorer(fitted, X, y)
                except Exception as exc:
                    key = f"search.scorers.{name}" if name in spec.scorers else "search.metric"
                    errors.append(f"{key}: scoring {name!r} fails: {type(exc).__name__}: {exc}")
    except Exception as exc:
        errors.append(f"model: fitting a {len(y)}-row sample fails: {type(exc).__name__}: {exc}")


def _encoded_columns(pipeline: dict[str, Any], table: Table) -> set[int]:
    """Positions of columns that some group's encoder step turns into numbers."""
    encoded: set[int] = set()
    for spec in (pipeline.get("columns") or {}).values():
        if not any(kind in pipelines.ENCODERS for _, kind in spec["steps"]):
            continue
        select = spec["select"]
        if isinstance(select, str):
            encoded.update(i for i, kind in enumerate(table.kinds) if kind == select)
        else:
            encoded.update(table.columns.index(n) for n in select if n in table.columns)
    return encoded


def _first_point(space: dict[str, Param], pipeline: dict[str, Any]) -> dict[str, Any]:
    """One point of the space to build with: each choice's first value, each range's low end
    (only where its condition holds for those values)."""
    point: dict[str, Any] = {}
    for name, param in space.items():
        if not is_active(param, point):
            continue
        if isinstance(param, ChoiceParam):
            point[name] = param.values[0]
        else:
            point[name] = int(param.low) if isinstance(param, IntParam) else param.low
    return point
