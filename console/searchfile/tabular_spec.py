"""Search-file keys for tabular work: pipeline steps, column groups, CV splitters and scorers."""

from __future__ import annotations

from typing import Any

from console.search.space import ChoiceParam, Param, describe, suggest
from console.searchfile.tomlcheck import Section
from node import estimators, pipelines, splitting

CV_KEYS = ("kind", "n_splits", "n_repeats", "shuffle", "seed", "group")
COLUMN_KEYS = ("select", "steps")
SCORER_KEYS = ("function", *splitting.SCORER_OPTIONS)
_STEP_WORDS = (*pipelines.step_kinds(), pipelines.PASSTHROUGH, pipelines.COLUMN_TRANSFORMER)


def read_cv(value: Any, where: str, errors: list[str]) -> tuple[int | None, dict[str, Any]]:
    """`cv = 5` (the old shuffled k-fold: folds, {}) or a table (folds, splitter description)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 2:
            errors.append(f"{where}: must be at least 2 (got {value})")
            return None, {}
        return value, {}
    if not isinstance(value, dict):
        # A [search.cv] table is the other form; the README shows it.
        errors.append(f"{where}: expected an integer, got {describe(value)}")
        return None, {}
    s = Section(value, where, errors)
    kind = s.choice("kind", tuple(splitting.SPLITTERS))
    n_splits = s.integer("n_splits", default=5, minimum=2)
    takes_shuffle, takes_repeats, takes_groups = splitting.SPLITTERS.get(kind, (True, True, True))
    cv: dict[str, Any] = {"kind": kind, "n_splits": n_splits}
    if takes_repeats:
        cv["n_repeats"] = s.integer("n_repeats", default=10, minimum=1)
    elif "n_repeats" in value:
        s.error("n_repeats", f"only applies to repeated_kfold and repeated_stratified, not {kind}")
    if takes_shuffle:
        cv["shuffle"] = s.boolean("shuffle", default=False)
    elif "shuffle" in value:
        s.error("shuffle", f"{kind} does not shuffle")
    if "seed" in value:
        cv["seed"] = s.integer("seed", minimum=0, maximum=2**32 - 1)
    group = s.string("group", default=None)
    if takes_groups and group is None:
        s.error("group", f"required for {kind}: the dataset column holding each row's group")
    elif group is not None and not takes_groups:
        s.error("group", f"only applies to group_kfold and stratified_group_kfold, not {kind}")
    if group is not None:
        cv["group"] = group
    if not s.finish() or kind is None:
        return None, {}
    return splitting.n_folds(cv), cv


def read_scorers(value: Any, where: str, errors: list[str]) -> dict[str, dict[str, Any]]:
    """[search.scorers.NAME] tables: a metric function from the allow-list plus its options."""
    if not isinstance(value, dict):
        errors.append(f"{where}: expected a table of scorers, got {describe(value)}")
        return {}
    scorers: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        key = f"{where}.{name}"
        if not isinstance(table, dict):
            errors.append(f'{key}: expected a table like {{ function = "f1_score" }}')
            continue
        before = len(errors)
        for unknown in (k for k in table if k not in SCORER_KEYS):
            errors.append(
                f"{key}.{unknown}: unknown key{suggest(unknown, SCORER_KEYS)}; "
                f"allowed: {', '.join(SCORER_KEYS)}"
            )
        function = table.get("function")
        if function not in splitting.METRIC_FUNCTIONS:
            names = sorted(splitting.METRIC_FUNCTIONS)
            hint = suggest(str(function), names) or f"; choose from {', '.join(names)}"
            errors.append(f"{key}.function: unknown metric function {function!r}{hint}")
        if len(errors) == before:
            scorers[name] = dict(table)
    return scorers


def read_metrics(
    table: dict[str, Any], errors: list[str], scorer_names: tuple[str, ...], custom: dict[str, Any]
) -> tuple[str | None, tuple[str, ...]]:
    """(metric ranked by, every metric recorded): `metric` and/or `metrics = [...]`."""
    metrics = table.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        errors.append(f"search.metrics: expected an array of scorer names, got {describe(metrics)}")
        metrics = []
    metric = table.get("metric", metrics[0] if metrics else "accuracy")
    if not isinstance(metric, str):
        errors.append(f"search.metric: expected a string, got {describe(metric)}")
        return None, ()
    names = [metric, *(m for m in metrics if m != metric)]
    known = (*scorer_names, *custom)
    ok = True
    for index, name in enumerate(names):
        if name not in known:
            key = "search.metric" if index == 0 and "metric" in table else "search.metrics"
            errors.append(
                f"{key}: unknown scikit-learn scorer {name!r}{suggest(name, known)}; "
                "or define it in [search.scorers]"
            )
            ok = False
    for name in custom:
        if name not in names:  # like an unknown key: a scorer defined and never used is a typo
            errors.append(f"search.scorers.{name}: defined but not in search.metric or metrics")
            ok = False
    return (metric, tuple(names) if len(names) > 1 else ()) if ok else (None, ())


def read_pipeline(model: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """[model.steps] (name = kind, in order) and [model.columns.GROUP] into the TASK's form."""
    steps_table = model.get("steps", {})
    columns_table = model.get("columns", {})
    if not steps_table and not columns_table:
        return {}
    steps = _read_steps(steps_table, "model.steps", errors, inner=False)
    columns: dict[str, Any] = {}
    if not isinstance(columns_table, dict):
        errors.append(
            f"model.columns: expected a table of column groups, got {describe(columns_table)}"
        )
        columns_table = {}
    for group, spec in columns_table.items():
        key = f"model.columns.{group}"
        if not isinstance(spec, dict):
            errors.append(f'{key}: expected a table like {{ select = "numeric", steps = ... }}')
            continue
        for unknown in (k for k in spec if k not in COLUMN_KEYS):
            errors.append(f"{key}.{unknown}: unknown key{suggest(unknown, COLUMN_KEYS)}")
        select = spec.get("select")
        is_names = isinstance(select, list) and select and all(isinstance(c, str) for c in select)
        if select not in pipelines.SELECTORS and not is_names:
            errors.append(
                f'{key}.select: expected "numeric", "categorical" or an array of '
                f"column names, got {describe(select)}"
            )
        inner = _read_steps(spec.get("steps", {}), f"{key}.steps", errors, inner=True)
        columns[group] = {"select": select, "steps": inner}
    uses_columns = any(kind == pipelines.COLUMN_TRANSFORMER for _, kind in steps)
    if columns and not uses_columns:
        # Groups without a step would be silently ignored: make the step implicit and first.
        steps.insert(0, ["columns", pipelines.COLUMN_TRANSFORMER])
    if uses_columns and not columns:
        errors.append("model.columns: a column_transformer step needs [model.columns.GROUP] tables")
    return {"steps": steps, "columns": columns} if columns else {"steps": steps}


def _read_steps(table: Any, where: str, errors: list[str], *, inner: bool) -> list[list[str]]:
    if not isinstance(table, dict):
        errors.append(f'{where}: expected a table of name = "kind", got {describe(table)}')
        return []
    steps: list[list[str]] = []
    words = [w for w in _STEP_WORDS if not (inner and w == pipelines.COLUMN_TRANSFORMER)]
    for name, kind in table.items():
        if "__" in name:
            errors.append(f"{where}.{name}: a step name must not contain '__'")
        elif kind not in words:
            hint = suggest(str(kind), words) or f"; choose from {', '.join(words)}"
            errors.append(f"{where}.{name}: unknown step {kind!r}{hint}")
        else:
            steps.append([name, kind])
    return steps


def read_dataset_columns(s: Section) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """`features = [...]` (keep these, in order) and `drop = [...]`."""

    def names(key: str) -> Any:
        return s.get(
            key,
            None,
            "an array of column names",
            lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        )

    features, drop = names("features"), names("drop")
    if features == []:
        s.error("features", "must not be empty (leave it out to use every column)")
    return (tuple(features) if features else None), tuple(drop or ())


def pipeline_params(
    estimator: str, pipeline: dict[str, Any], params: dict[str, Param], errors: list[str]
) -> set[str]:
    """Every name a pipeline's params may take; a searched step swap must name a step kind."""
    paths = pipelines.step_paths(pipeline)
    choices = {
        name: param.values
        for name, param in params.items()
        if name in paths and isinstance(param, ChoiceParam)
    }
    allowed = [*pipelines.step_kinds(), pipelines.PASSTHROUGH]
    for name, values in choices.items():
        for value in values:
            if value not in allowed:
                errors.append(
                    f"space.{name}: step {name!r} cannot be {value!r}; "
                    f"choose from {', '.join(allowed)}"
                )
    return pipelines.param_names(estimator, pipeline, choices)


def prefix_hint(estimator: str, name: str, pipeline: dict[str, Any] | None) -> str:
    """In a pipeline the estimator's params carry its step name, as in scikit-learn."""
    if not pipeline:
        return ""
    final = estimators.canonical_name(estimator)
    return f" (in a pipeline the estimator's parameters are {final}__NAME: {final}__{name}?)"
