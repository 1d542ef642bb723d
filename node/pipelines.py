"""Allow-listed preprocessing steps and the Pipeline a trial's JSON description builds."""

from __future__ import annotations

from typing import Any

from node import estimators

# Step kind -> (module, class). As for estimators, a search file names a kind, never a path.
STEP_KINDS: dict[str, tuple[str, str]] = {
    "standard_scaler": ("sklearn.preprocessing", "StandardScaler"),
    "min_max_scaler": ("sklearn.preprocessing", "MinMaxScaler"),
    "robust_scaler": ("sklearn.preprocessing", "RobustScaler"),
    "max_abs_scaler": ("sklearn.preprocessing", "MaxAbsScaler"),
    "simple_imputer": ("sklearn.impute", "SimpleImputer"),
    "one_hot_encoder": ("sklearn.preprocessing", "OneHotEncoder"),
    "ordinal_encoder": ("sklearn.preprocessing", "OrdinalEncoder"),
    "pca": ("sklearn.decomposition", "PCA"),
    "select_k_best": ("sklearn.feature_selection", "SelectKBest"),
    "polynomial_features": ("sklearn.preprocessing", "PolynomialFeatures"),
}
PASSTHROUGH = "passthrough"  # sklearn's own word for "no step here"
COLUMN_TRANSFORMER = "column_transformer"  # a step built from the description's "columns"
SELECTORS = ("numeric", "categorical")
ENCODERS = ("one_hot_encoder", "ordinal_encoder")
# Encoders that would choke on a missing category are told to pass unknowns through.
_STEP_DEFAULTS: dict[str, dict[str, Any]] = {
    "one_hot_encoder": {"handle_unknown": "ignore"},
    "ordinal_encoder": {"handle_unknown": "use_encoded_value", "unknown_value": -1},
}


class PipelineError(ValueError):
    """The pipeline description cannot be built; the message names the step."""


def step_kinds() -> list[str]:
    return sorted(STEP_KINDS)


def build_step(kind: str) -> Any:
    if kind == PASSTHROUGH:
        return PASSTHROUGH
    if kind not in STEP_KINDS:
        raise PipelineError(
            f"unknown step {kind!r}; allowed: {', '.join([*step_kinds(), PASSTHROUGH])}"
        )
    module_name, class_name = STEP_KINDS[kind]
    module = __import__(module_name, fromlist=[class_name])
    step = getattr(module, class_name)()
    step.set_params(**_STEP_DEFAULTS.get(kind, {}))
    return step


def is_pipeline(description: dict[str, Any] | None) -> bool:
    return bool(description and description.get("steps"))


def build_model(
    estimator: str,
    params: dict[str, Any] | None,
    seed: int,
    description: dict[str, Any] | None = None,
    columns: list[str] | None = None,
    kinds: list[str] | None = None,
) -> Any:
    """The bare estimator (no steps), or Pipeline(steps..., estimator) with `params` applied.

    `description` is {"steps": [[name, kind], ...], "columns": {name: {"select", "steps"}}};
    `columns` and `kinds` ("numeric" / "categorical") are the dataset's, to resolve selectors.
    """
    if not is_pipeline(description):
        return estimators.build_estimator(estimator, params, seed)
    from sklearn.pipeline import Pipeline

    assert description is not None
    final = estimators.canonical_name(estimator)
    steps: list[tuple[str, Any]] = []
    for name, kind in description["steps"]:
        if kind == COLUMN_TRANSFORMER:
            steps.append((name, _column_transformer(description, columns, kinds)))
        else:
            steps.append((name, build_step(kind)))
    steps.append((final, estimators.resolve(final)()))
    pipeline = Pipeline(steps)
    params = dict(params or {})
    # A param named after a step swaps that step (e.g. scaler = "robust_scaler", or inside a
    # column group columns__num__scale = "passthrough"), before the chosen step's params apply.
    for path in step_paths(description):
        if path in params:
            pipeline.set_params(**{path: build_step(str(params.pop(path)))})
    valid = set(pipeline.get_params())
    unknown = sorted(key for key in params if key not in valid)
    if unknown:
        raise PipelineError(
            f"invalid parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f" for this pipeline; valid: {', '.join(sorted(k for k in valid if '__' in k))}"
        )
    # A fixed seed makes a trial's score reproducible on any node and on retry.
    for key in valid:
        if key.endswith("random_state") and key not in params:
            params[key] = seed
    pipeline.set_params(**params)
    return pipeline


def _column_transformer(
    description: dict[str, Any], columns: list[str] | None, kinds: list[str] | None
) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    groups = description.get("columns") or {}
    if not groups:
        raise PipelineError("a column_transformer step needs [model.columns] groups")
    transformers = []
    for group, spec in groups.items():
        selected = _select(group, spec["select"], columns or [], kinds or [])
        inner = [(name, build_step(kind)) for name, kind in spec["steps"]]
        body = Pipeline(inner) if inner else PASSTHROUGH
        transformers.append((group, body, selected))
    return ColumnTransformer(transformers, remainder="drop")


def _select(group: str, select: Any, columns: list[str], kinds: list[str]) -> list[int]:
    """Column positions for a group: a dtype selector or a list of names (positions, since the
    node's feature matrix is a plain array, not a DataFrame)."""
    if isinstance(select, str):
        picked = [i for i, kind in enumerate(kinds) if kind == select]
        if not picked:
            raise PipelineError(f"columns group {group!r}: the dataset has no {select} columns")
        return picked
    missing = [name for name in select if name not in columns]
    if missing:
        raise PipelineError(
            f"columns group {group!r}: no column {', '.join(map(repr, missing))} among the "
            f"features ({', '.join(columns)})"
        )
    return [columns.index(name) for name in select]


def step_paths(description: dict[str, Any]) -> dict[str, str]:
    """Every step a param may swap, as its sklearn path (`scale`, `columns__num__scale`) ->
    the kind it has by default."""
    paths: dict[str, str] = {}
    for name, kind in description["steps"]:
        if kind != COLUMN_TRANSFORMER:
            paths[name] = kind
            continue
        for group, spec in (description.get("columns") or {}).items():
            for inner, inner_kind in spec["steps"]:
                paths[f"{name}__{group}__{inner}"] = inner_kind
    return paths


def param_names(estimator: str, description: dict[str, Any], choices: dict[str, Any]) -> set[str]:
    """Every `step__param` name a pipeline could accept, given each step's possible kinds
    (`choices`: step name -> kinds searched for it). For validating a search file."""
    final = estimators.canonical_name(estimator)
    names = {f"{final}__{name}" for name in estimators.parameter_names(final)}
    for path, kind in step_paths(description).items():
        names.add(path)
        for option in {kind, *choices.get(path, ())}:
            if option in STEP_KINDS:
                names.update(f"{path}__{param}" for param in build_step(option).get_params())
    return names
