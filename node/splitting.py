"""CV splitters and scorers as scikit-learn spells them, built from a TASK's JSON description."""

from __future__ import annotations

from typing import Any

# kind -> whether it takes shuffle, n_repeats, groups
SPLITTERS: dict[str, tuple[bool, bool, bool]] = {
    "kfold": (True, False, False),
    "stratified": (True, False, False),
    "repeated_kfold": (False, True, False),
    "repeated_stratified": (False, True, False),
    "group_kfold": (True, False, True),
    "stratified_group_kfold": (True, False, True),
    "time_series": (False, False, False),
}

# Metric functions a search file may build a scorer from (with options): sklearn.metrics names.
METRIC_FUNCTIONS: dict[str, bool] = {  # name -> greater is better
    "accuracy_score": True,
    "balanced_accuracy_score": True,
    "f1_score": True,
    "precision_score": True,
    "recall_score": True,
    "jaccard_score": True,
    "fbeta_score": True,
    "matthews_corrcoef": True,
    "roc_auc_score": True,
    "average_precision_score": True,
    "log_loss": False,
    "brier_score_loss": False,
    "r2_score": True,
    "explained_variance_score": True,
    "mean_squared_error": False,
    "root_mean_squared_error": False,
    "mean_absolute_error": False,
    "median_absolute_error": False,
    "mean_absolute_percentage_error": False,
    "max_error": False,
}
REGRESSION_FUNCTIONS = frozenset(
    name
    for name in METRIC_FUNCTIONS
    if name.startswith(("r2", "explained", "mean_", "median", "max", "root"))
)
# Options a scorer may carry, passed to the metric function (response_method to make_scorer).
SCORER_OPTIONS = ("pos_label", "average", "beta", "labels", "response_method")
_PROBA_FUNCTIONS = ("roc_auc_score", "average_precision_score", "log_loss", "brier_score_loss")


def n_folds(cv: dict[str, Any]) -> int:
    """How many folds (splits) the described splitter yields."""
    return int(cv["n_splits"]) * int(cv.get("n_repeats") or 1)


def build_splitter(cv: dict[str, Any], seed: int) -> Any:
    """The splitter {"kind", "n_splits", "shuffle", "seed", "n_repeats"} describes."""
    from sklearn import model_selection as ms

    kind, n_splits = cv["kind"], int(cv["n_splits"])
    random_state = cv.get("seed", seed)
    shuffle = bool(cv.get("shuffle", False))
    # random_state only with shuffle: sklearn refuses it otherwise.
    shuffled = {"shuffle": True, "random_state": random_state} if shuffle else {}
    if kind == "kfold":
        return ms.KFold(n_splits, **shuffled)
    if kind == "stratified":
        return ms.StratifiedKFold(n_splits, **shuffled)
    if kind == "repeated_kfold":
        return ms.RepeatedKFold(
            n_splits=n_splits, n_repeats=int(cv["n_repeats"]), random_state=random_state
        )
    if kind == "repeated_stratified":
        return ms.RepeatedStratifiedKFold(
            n_splits=n_splits, n_repeats=int(cv["n_repeats"]), random_state=random_state
        )
    if kind == "group_kfold":
        return ms.GroupKFold(n_splits, **shuffled)
    if kind == "stratified_group_kfold":
        return ms.StratifiedGroupKFold(n_splits, **shuffled)
    if kind == "time_series":
        return ms.TimeSeriesSplit(n_splits)
    raise ValueError(f"unknown cv kind {kind!r}; choose from {', '.join(SPLITTERS)}")


def legacy_splitter(folds: int, seed: int, classifier: bool) -> Any:
    """What `cv = N` has always meant: shuffled (stratified for classifiers), seeded."""
    from sklearn.model_selection import KFold, StratifiedKFold

    cls = StratifiedKFold if classifier else KFold
    return cls(n_splits=folds, shuffle=True, random_state=seed)


def build_scorer(name: str, scorers: dict[str, Any]) -> Any:
    """A scorer: a named custom one from `scorers` ({"function", options...}) or an sklearn
    scorer name (get_scorer)."""
    from sklearn.metrics import get_scorer, make_scorer

    custom = scorers.get(name)
    if custom is None:
        return get_scorer(name)
    import sklearn.metrics

    function = custom["function"]
    if function not in METRIC_FUNCTIONS:
        raise ValueError(f"scorer {name!r}: metric function {function!r} is not allowed")
    options = {key: value for key, value in custom.items() if key in SCORER_OPTIONS}
    response = options.pop("response_method", None)
    if response is None:
        response = "predict_proba" if function in _PROBA_FUNCTIONS else "predict"
    if function in ("roc_auc_score", "average_precision_score") and response == "predict_proba":
        # sklearn's own roc_auc scorer tries decision_function first, then predict_proba.
        response = ("decision_function", "predict_proba")
    return make_scorer(
        getattr(sklearn.metrics, function),
        greater_is_better=METRIC_FUNCTIONS[function],
        response_method=response,
        **options,
    )
