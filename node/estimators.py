"""Allow-list of scikit-learn estimators a trial may name, and how to build them."""

from __future__ import annotations

import os
import time
from typing import Any

# Canonical name -> (module, class). Classes are imported only when first needed: importing
# scikit-learn costs ~0.8 s and ~100 MB, which the node supervisor process never needs to pay.
_REGISTRY: dict[str, tuple[str, str]] = {
    "svc": ("sklearn.svm", "SVC"),
    "svr": ("sklearn.svm", "SVR"),
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression"),
    "ridge": ("sklearn.linear_model", "Ridge"),
    "linear_regression": ("sklearn.linear_model", "LinearRegression"),
    "random_forest": ("sklearn.ensemble", "RandomForestClassifier"),
    "random_forest_regressor": ("sklearn.ensemble", "RandomForestRegressor"),
    "extra_trees": ("sklearn.ensemble", "ExtraTreesClassifier"),
    "extra_trees_regressor": ("sklearn.ensemble", "ExtraTreesRegressor"),
    "gradient_boosting": ("sklearn.ensemble", "GradientBoostingClassifier"),
    "gradient_boosting_regressor": ("sklearn.ensemble", "GradientBoostingRegressor"),
    "hist_gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingClassifier"),
    "hist_gradient_boosting_regressor": ("sklearn.ensemble", "HistGradientBoostingRegressor"),
    "kneighbors": ("sklearn.neighbors", "KNeighborsClassifier"),
    "kneighbors_regressor": ("sklearn.neighbors", "KNeighborsRegressor"),
    "decision_tree": ("sklearn.tree", "DecisionTreeClassifier"),
    "decision_tree_regressor": ("sklearn.tree", "DecisionTreeRegressor"),
    "mlp": ("sklearn.neural_network", "MLPClassifier"),
    "mlp_regressor": ("sklearn.neural_network", "MLPRegressor"),
    "dummy": ("sklearn.dummy", "DummyClassifier"),
    "dummy_regressor": ("sklearn.dummy", "DummyRegressor"),
    "sleep_classifier": (__name__, "SleepClassifier"),
}

# The scikit-learn class name is accepted too (case-sensitive), e.g. "SVC" for "svc".
_ALIASES: dict[str, str] = {cls: name for name, (_, cls) in _REGISTRY.items()}

CRASH_EXIT_CODE = 70  # what a crashing sleep_classifier exits with


class UnknownEstimatorError(ValueError):
    """The estimator name is not on the allow-list."""


def estimator_names() -> list[str]:
    """Canonical names of every allowed estimator, sorted."""
    return sorted(_REGISTRY)


def estimator_modules() -> list[str]:
    """Modules holding the allowed classes (worth preloading in a fork server)."""
    return sorted({module for module, _ in _REGISTRY.values() if module != __name__})


def canonical_name(name: str) -> str:
    """The canonical snake_case name for a canonical name or a class-name alias."""
    if name in _REGISTRY:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise UnknownEstimatorError(
        f"unknown estimator {name!r}; allowed: {', '.join(estimator_names())}"
    )


def resolve(name: str) -> type:
    """The estimator class for a canonical name or alias."""
    module_name, class_name = _REGISTRY[canonical_name(name)]
    if module_name == __name__:
        return _sleep_classifier_class()
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)


def parameter_names(name: str) -> set[str]:
    """Names `set_params` accepts for this estimator (from a default instance)."""
    return set(resolve(name)().get_params())


def is_classifier_name(name: str) -> bool:
    """True when the estimator is a classifier (so CV is stratified)."""
    from sklearn.base import is_classifier

    return bool(is_classifier(resolve(name)()))


def build_estimator(name: str, params: dict[str, Any] | None, seed: int) -> Any:
    """An estimator with `params` applied; seeded via random_state unless params set it."""
    estimator = resolve(name)()
    valid = set(estimator.get_params())
    params = dict(params or {})
    unknown = sorted(key for key in params if key not in valid)
    if unknown:
        raise ValueError(
            f"invalid parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f" for estimator {canonical_name(name)!r}; valid: {', '.join(sorted(valid))}"
        )
    # A fixed seed makes a trial's score reproducible on any node and on retry.
    if "random_state" in valid and "random_state" not in params:
        params["random_state"] = seed
    estimator.set_params(**params)
    return estimator


_sleep_classifier: type | None = None


def _sleep_classifier_class() -> type:
    """Define SleepClassifier on first use, so importing this module stays sklearn-free."""
    global _sleep_classifier
    if _sleep_classifier is not None:
        return _sleep_classifier

    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin

    class SleepClassifier(ClassifierMixin, BaseEstimator):
        """Diagnostic classifier: sleeps, fails or crashes in fit; predicts the majority class."""

        def __init__(self, seconds: float = 0.0, fail: bool = False, crash: bool = False) -> None:
            self.seconds = seconds
            self.fail = fail
            self.crash = crash

        def fit(self, X: Any, y: Any) -> SleepClassifier:
            if self.crash:
                # Like a segfault: no exception, no cleanup, the process is simply gone.
                os._exit(CRASH_EXIT_CODE)
            if self.fail:
                raise ValueError("sleep_classifier asked to fail")
            if self.seconds > 0:
                time.sleep(self.seconds)
            labels, counts = np.unique(np.asarray(y), return_counts=True)
            self.classes_ = labels
            self.majority_ = labels[int(np.argmax(counts))]
            self.n_features_in_ = np.asarray(X).shape[1]
            return self

        def predict(self, X: Any) -> Any:
            return np.full(len(X), self.majority_)

    # Pickle and clone find the class as node.estimators.SleepClassifier (see __getattr__).
    SleepClassifier.__module__ = __name__
    SleepClassifier.__qualname__ = "SleepClassifier"
    _sleep_classifier = SleepClassifier
    return SleepClassifier


def __getattr__(attribute: str) -> Any:
    if attribute == "SleepClassifier":
        return _sleep_classifier_class()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
