"""Cross-checks of a search spec's parts: the estimator's parameters, and metric against model."""

from __future__ import annotations

from functools import cache
from typing import Any

from console.search.space import Param, suggest
from console.searchfile import tabular_spec
from node import estimators, splitting


@cache
def scorer_names() -> tuple[str, ...]:
    # Imported on first use: scikit-learn costs about a second to import.
    from sklearn.metrics import get_scorer_names

    return tuple(get_scorer_names())


def check_model(
    estimator: str,
    fixed: dict[str, Any],
    space: dict[str, Any],
    pipeline: dict[str, Any] | None = None,
    params: dict[str, Param] | None = None,
) -> list[str]:
    """The estimator is allowed and every searched or fixed name is one of its parameters (of
    the pipeline's steps, as `step__param`, when there is a pipeline)."""
    try:
        known = estimators.parameter_names(estimator)
    except estimators.UnknownEstimatorError:
        names = estimators.estimator_names()
        hint = suggest(estimator, names) or f"; choose from {', '.join(names)}"
        return [f"model.estimator: unknown estimator {estimator!r}{hint}"]
    errors = []
    if pipeline:
        known = tabular_spec.pipeline_params(estimator, pipeline, params or {}, errors)
    for where, names in (("space", space), ("model.fixed", fixed)):
        for name in names:
            if name not in known:
                hint = suggest(name, known) or tabular_spec.prefix_hint(estimator, name, pipeline)
                errors.append(f"{where}.{name}: {estimator} has no parameter {name!r}{hint}")
    for name in space:
        if name in fixed:
            errors.append(f"space.{name}: also set in model.fixed; search it or fix it, not both")
    return errors


# Scorers that need continuous predictions; every other scorer compares class labels or scores.
_REGRESSION_SCORERS = ("explained_variance", "r2", "neg_max_error", "neg_mean_", "neg_median_",
                       "neg_root_mean_", "d2_absolute_error")  # fmt: skip


def check_scoring(
    estimator: str, metric: str, source: str, scorers: dict[str, Any] | None = None
) -> list[str]:
    """Catch metric/estimator/dataset mismatches that would fail every single trial."""
    is_classifier = estimators.is_classifier_name(estimator)
    kind = "a classifier" if is_classifier else "a regressor"
    custom = (scorers or {}).get(metric)
    if custom is not None:
        regression_metric = custom["function"] in splitting.REGRESSION_FUNCTIONS
    else:
        regression_metric = metric.startswith(_REGRESSION_SCORERS)
    if is_classifier and source == "sklearn:diabetes":
        return [
            f"model.estimator: {estimator} is a classifier but diabetes is a regression dataset"
        ]
    if is_classifier == regression_metric:
        hint = "accuracy or f1_macro" if is_classifier else "r2 or neg_mean_squared_error"
        return [f"search.metric: {metric!r} does not suit {kind} like {estimator}; try {hint}"]
    return []
