"""Tests for the estimator allow-list: names, aliases, building, seeding, import hygiene."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone

from node import estimators
from node.estimators import (
    UnknownEstimatorError,
    build_estimator,
    estimator_names,
    is_classifier_name,
    parameter_names,
    resolve,
)

REQUIRED_NAMES = {
    "svc": "SVC",
    "svr": "SVR",
    "logistic_regression": "LogisticRegression",
    "ridge": "Ridge",
    "linear_regression": "LinearRegression",
    "random_forest": "RandomForestClassifier",
    "random_forest_regressor": "RandomForestRegressor",
    "extra_trees": "ExtraTreesClassifier",
    "extra_trees_regressor": "ExtraTreesRegressor",
    "gradient_boosting": "GradientBoostingClassifier",
    "gradient_boosting_regressor": "GradientBoostingRegressor",
    "hist_gradient_boosting": "HistGradientBoostingClassifier",
    "hist_gradient_boosting_regressor": "HistGradientBoostingRegressor",
    "kneighbors": "KNeighborsClassifier",
    "kneighbors_regressor": "KNeighborsRegressor",
    "decision_tree": "DecisionTreeClassifier",
    "decision_tree_regressor": "DecisionTreeRegressor",
    "mlp": "MLPClassifier",
    "mlp_regressor": "MLPRegressor",
    "dummy": "DummyClassifier",
    "dummy_regressor": "DummyRegressor",
    "sleep_classifier": "SleepClassifier",
}


def test_names_are_the_allow_list_sorted() -> None:
    assert estimator_names() == sorted(REQUIRED_NAMES)


@pytest.mark.parametrize("name", sorted(REQUIRED_NAMES))
def test_every_name_builds(name: str) -> None:
    estimator = build_estimator(name, {}, seed=0)
    assert isinstance(estimator, resolve(name))
    assert type(estimator).__name__ == REQUIRED_NAMES[name]


@pytest.mark.parametrize(("name", "alias"), sorted(REQUIRED_NAMES.items()))
def test_class_name_alias_resolves_to_the_same_class(name: str, alias: str) -> None:
    assert resolve(alias) is resolve(name)
    assert estimators.canonical_name(alias) == name


def test_aliases_are_case_sensitive() -> None:
    with pytest.raises(UnknownEstimatorError):
        resolve("Svc")


def test_import_paths_are_refused() -> None:
    with pytest.raises(UnknownEstimatorError):
        resolve("sklearn.svm.SVC")


def test_unknown_name_error_lists_valid_names() -> None:
    with pytest.raises(UnknownEstimatorError) as caught:
        resolve("xgboost")
    message = str(caught.value)
    assert "'xgboost'" in message
    for name in estimator_names():
        assert name in message
    assert isinstance(caught.value, ValueError)


def test_invalid_param_name_raises_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'gama'") as caught:
        build_estimator("svc", {"C": 1.0, "gama": 0.1}, seed=0)
    assert "gamma" in str(caught.value)  # the valid names help spot the typo


def test_params_are_applied() -> None:
    estimator = build_estimator("SVC", {"C": 3.5, "kernel": "linear"}, seed=0)
    assert estimator.C == 3.5
    assert estimator.kernel == "linear"


def test_none_params_mean_defaults() -> None:
    assert build_estimator("decision_tree", None, seed=1).max_depth is None


def test_random_state_is_seeded_when_not_given() -> None:
    assert build_estimator("random_forest", {}, seed=7).random_state == 7
    assert build_estimator("random_forest", {"random_state": 3}, seed=7).random_state == 3
    assert build_estimator("random_forest", {"random_state": None}, seed=7).random_state is None
    assert "random_state" not in parameter_names("kneighbors")
    build_estimator("kneighbors", {}, seed=7)  # no random_state to set: nothing breaks


def test_parameter_names_come_from_get_params() -> None:
    assert {"C", "kernel", "gamma"} <= parameter_names("svc")
    assert parameter_names("sleep_classifier") == {"seconds", "fail", "crash"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("svc", True), ("SVR", False), ("dummy", True), ("dummy_regressor", False),
     ("mlp", True), ("ridge", False), ("sleep_classifier", True)],
)  # fmt: skip
def test_is_classifier_name(name: str, expected: bool) -> None:
    assert is_classifier_name(name) is expected


def test_sleep_classifier_predicts_the_majority_class() -> None:
    X = np.zeros((5, 2))
    y = np.array(["b", "a", "b", "c", "b"])
    model = build_estimator("sleep_classifier", {"seconds": 0.0}, seed=0).fit(X, y)
    assert list(model.predict(np.zeros((3, 2)))) == ["b", "b", "b"]
    assert model.score(X, y) == pytest.approx(0.6)


def test_sleep_classifier_fail_raises_value_error() -> None:
    model = build_estimator("sleep_classifier", {"fail": True}, seed=0)
    with pytest.raises(ValueError, match="sleep_classifier asked to fail"):
        model.fit(np.zeros((2, 1)), np.array([0, 1]))


def test_sleep_classifier_clones_and_pickles() -> None:
    model = build_estimator("sleep_classifier", {"seconds": 0.5, "fail": True}, seed=0)
    assert clone(model).get_params() == {"seconds": 0.5, "fail": True, "crash": False}
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is estimators.SleepClassifier
    assert copy.get_params() == model.get_params()


def test_importing_estimators_pulls_in_neither_textual_nor_sklearn() -> None:
    code = (
        "import sys, node.estimators as e; e.estimator_names(); "
        "assert 'textual' not in sys.modules; assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
