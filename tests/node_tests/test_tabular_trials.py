"""Trials with pipelines, splitters and several metrics score exactly as scikit-learn does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import model_selection as ms
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_wine
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score, make_scorer
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler
from sklearn.svm import SVC

from node.datasets import clear_cache, load_table
from node.pipelines import PipelineError, build_model
from node.trial import run_trial

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WINE_CSV = EXAMPLES / "wine_mixed.csv"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


def task(**fields: Any) -> dict[str, Any]:
    base = {
        "estimator": "svc",
        "params": {},
        "cv": 5,
        "metric": "accuracy",
        "seed": 3,
        "dataset": {"source": "sklearn:wine"},
        "folds": [],
    }
    return base | fields


def same(result: dict[str, Any], expected: np.ndarray) -> None:
    assert result["status"] == "ok", result["error"]
    assert np.allclose(result["fold_scores"], expected, rtol=0, atol=1e-12)
    assert abs(result["mean"] - expected.mean()) <= 1e-12


X_WINE, Y_WINE = load_wine(return_X_y=True)
SPLITTERS = [
    ({"kind": "kfold", "n_splits": 4, "shuffle": False}, ms.KFold(4)),
    (
        {"kind": "kfold", "n_splits": 4, "shuffle": True, "seed": 9},
        ms.KFold(4, shuffle=True, random_state=9),
    ),
    (
        {"kind": "stratified", "n_splits": 3, "shuffle": True},
        ms.StratifiedKFold(3, shuffle=True, random_state=3),
    ),  # seed defaults to the search's
    (
        {"kind": "repeated_stratified", "n_splits": 3, "n_repeats": 2},
        ms.RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=3),
    ),
    (
        {"kind": "repeated_kfold", "n_splits": 2, "n_repeats": 3},
        ms.RepeatedKFold(n_splits=2, n_repeats=3, random_state=3),
    ),
]


@pytest.mark.parametrize(("cv", "splitter"), SPLITTERS, ids=lambda v: str(v)[:40])
def test_splitters_match_cross_val_score(cv: dict[str, Any], splitter: Any) -> None:
    pipeline = {"steps": [["scale", "standard_scaler"]]}
    params = {"svc__C": 3.0}
    result = run_trial(task(pipeline=pipeline, splitter=cv, params=params))
    model = Pipeline([("scale", StandardScaler()), ("svc", SVC(C=3.0, random_state=3))])
    expected = ms.cross_val_score(model, X_WINE, Y_WINE, cv=splitter)
    same(result, expected)
    assert result["folds"] == list(range(1, len(expected) + 1))


def test_time_series_split_on_a_regression() -> None:
    X, y = load_diabetes(return_X_y=True)
    cv = {"kind": "time_series", "n_splits": 4}
    result = run_trial(
        task(estimator="ridge", dataset={"source": "sklearn:diabetes"}, splitter=cv, metric="r2")
    )
    from sklearn.linear_model import Ridge

    same(result, ms.cross_val_score(Ridge(random_state=3), X, y, cv=ms.TimeSeriesSplit(4)))


def test_a_fold_subset_is_those_splits_of_the_splitter() -> None:
    cv = {"kind": "repeated_stratified", "n_splits": 3, "n_repeats": 2}
    result = run_trial(task(splitter=cv, folds=[2, 6], estimator="kneighbors"))
    splits = list(
        ms.RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=3).split(X_WINE, Y_WINE)
    )
    expected = [
        KNeighborsClassifier().fit(X_WINE[tr], Y_WINE[tr]).score(X_WINE[te], Y_WINE[te])
        for tr, te in (splits[1], splits[5])
    ]
    assert result["folds"] == [2, 6]
    assert result["fold_scores"] == pytest.approx(expected, abs=1e-12)


def test_several_metrics_ranked_by_one() -> None:
    scoring = {"metrics": ["accuracy", "f1_macro"], "rank": "f1_macro", "scorers": {}}
    result = run_trial(task(scoring=scoring, estimator="kneighbors"))
    splitter = ms.StratifiedKFold(5, shuffle=True, random_state=3)
    out = ms.cross_validate(
        KNeighborsClassifier(), X_WINE, Y_WINE, cv=splitter, scoring=["accuracy", "f1_macro"]
    )
    same(result, out["test_f1_macro"])
    assert result["scores"]["accuracy"] == pytest.approx(list(out["test_accuracy"]), abs=1e-12)


def test_a_step_chosen_by_a_param_and_its_params() -> None:
    pipeline = {"steps": [["scaler", "standard_scaler"]]}
    params = {"scaler": "robust_scaler", "scaler__with_centering": False, "svc__C": 2.0}
    result = run_trial(task(pipeline=pipeline, params=params))
    model = Pipeline(
        [("scaler", RobustScaler(with_centering=False)), ("svc", SVC(C=2.0, random_state=3))]
    )
    splitter = ms.StratifiedKFold(5, shuffle=True, random_state=3)
    same(result, ms.cross_val_score(model, X_WINE, Y_WINE, cv=splitter))
    off = run_trial(task(pipeline=pipeline, params={"scaler": "passthrough"}))
    same(off, ms.cross_val_score(SVC(random_state=3), X_WINE, Y_WINE, cv=splitter))


MIXED_PIPELINE = {
    "steps": [["prep", "column_transformer"]],
    "columns": {
        "num": {
            "select": "numeric",
            "steps": [["impute", "simple_imputer"], ["scale", "standard_scaler"]],
        },
        "cat": {
            "select": ["region", "cask"],
            "steps": [["impute", "simple_imputer"], ["onehot", "one_hot_encoder"]],
        },
    },
}


def test_column_transformer_on_the_mixed_csv_with_groups_and_pos_label() -> None:
    dataset = {"source": f"file:{WINE_CSV}", "target": "cultivar", "drop": ["id"], "group": "batch"}
    scoring = {
        "metrics": ["accuracy", "f1_a"],
        "rank": "accuracy",
        "scorers": {"f1_a": {"function": "f1_score", "average": "macro"}},
    }
    cv = {"kind": "group_kfold", "n_splits": 4, "shuffle": False}
    params = {"prep__cat__impute__strategy": "most_frequent", "logistic_regression__C": 0.5}
    result = run_trial(
        task(
            estimator="logistic_regression",
            dataset=dataset,
            params=params,
            pipeline=MIXED_PIPELINE,
            splitter=cv,
            scoring=scoring,
        )
    )
    table = load_table(dataset)
    assert table.kinds[-2:] == ("categorical", "categorical")
    from sklearn.linear_model import LogisticRegression

    numeric = [i for i, kind in enumerate(table.kinds) if kind == "numeric"]
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        (
                            "num",
                            Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
                            numeric,
                        ),
                        (
                            "cat",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="most_frequent")),
                                    ("onehot", OneHotEncoder(handle_unknown="ignore")),
                                ]
                            ),
                            [7, 8],
                        ),
                    ]
                ),
            ),
            ("logistic_regression", LogisticRegression(C=0.5, random_state=3)),
        ]
    )
    scorers = {"accuracy": "accuracy", "f1_a": make_scorer(f1_score, average="macro")}
    out = ms.cross_validate(
        model, table.X, table.y, groups=table.groups, cv=ms.GroupKFold(4), scoring=scorers
    )
    same(result, out["test_accuracy"])
    assert result["scores"]["f1_a"] == pytest.approx(list(out["test_f1_a"]), abs=1e-12)
    assert result["mean"] > 0.9


def test_binary_f1_with_a_string_pos_label(tmp_path: Path) -> None:
    rows = ["x1,x2,label"] + [
        f"{i % 7},{(i * 3) % 5},{'yes' if i % 3 else 'no'}" for i in range(60)
    ]
    path = tmp_path / "b.csv"
    path.write_text("\n".join(rows) + "\n")
    scoring = {
        "metrics": ["f1_no"],
        "rank": "f1_no",
        "scorers": {"f1_no": {"function": "f1_score", "pos_label": "no"}},
    }
    dataset = {"source": f"file:{path}", "target": "label"}
    result = run_trial(task(estimator="decision_tree", dataset=dataset, scoring=scoring))
    table = load_table(dataset)
    from sklearn.tree import DecisionTreeClassifier

    expected = ms.cross_val_score(
        DecisionTreeClassifier(random_state=3),
        table.X,
        table.y,
        cv=ms.StratifiedKFold(5, shuffle=True, random_state=3),
        scoring=make_scorer(f1_score, pos_label="no"),
    )
    same(result, expected)


def test_regression_with_two_metrics() -> None:
    X, y = load_diabetes(return_X_y=True)
    scoring = {"metrics": ["r2", "neg_mean_absolute_error"], "rank": "r2", "scorers": {}}
    result = run_trial(
        task(
            estimator="ridge",
            dataset={"source": "sklearn:diabetes"},
            scoring=scoring,
            params={"alpha": 0.3},
        )
    )
    from sklearn.linear_model import Ridge

    out = ms.cross_validate(
        Ridge(alpha=0.3, random_state=3),
        X,
        y,
        cv=ms.KFold(5, shuffle=True, random_state=3),
        scoring=["r2", "neg_mean_absolute_error"],
    )
    same(result, out["test_r2"])
    mae = result["scores"]["neg_mean_absolute_error"]
    assert mae == pytest.approx(list(out["test_neg_mean_absolute_error"]), abs=1e-12)


def test_a_bad_step_param_is_an_error_naming_it() -> None:
    with pytest.raises(PipelineError, match="'scale__nope'"):
        build_model("svc", {"scale__nope": 1}, 0, {"steps": [["scale", "standard_scaler"]]})
    result = run_trial(
        task(pipeline={"steps": [["scale", "standard_scaler"]]}, params={"scale": "mystery_scaler"})
    )
    assert result["status"] == "error" and "unknown step 'mystery_scaler'" in result["error"]


def test_missing_file_is_unavailable_not_an_error(tmp_path: Path) -> None:
    result = run_trial(task(dataset={"source": f"file:{tmp_path}/gone.csv"}))
    assert result["status"] == "unavailable"
    assert "not found" in result["error"]


def test_task_and_result_carry_the_new_fields_and_old_bodies_still_decode() -> None:
    import json

    from node import protocol as p

    task = p.Task(
        trial_id=1,
        attempt=1,
        lease_id="l",
        timeout_s=5.0,
        estimator="svc",
        params={},
        cv=6,
        metric="accuracy",
        seed=0,
        dataset={"source": "sklearn:wine"},
        search="s",
        pipeline=MIXED_PIPELINE,
        splitter={"kind": "repeated_kfold", "n_splits": 3, "n_repeats": 2},
        scoring={"metrics": ["accuracy"], "rank": "accuracy", "scorers": {}},
    )
    assert p.decode(p.encode(task)) == task
    old = task.to_body()
    for name in ("pipeline", "splitter", "scoring"):
        del old[name]
    decoded = p.decode([p.MAGIC, b"TASK", json.dumps(old).encode()])
    assert isinstance(decoded, p.Task) and decoded.pipeline == {} and decoded.scoring == {}
    result = p.Result(
        node_id="n",
        trial_id=1,
        lease_id="l",
        attempt=1,
        search="s",
        params={},
        status=p.STATUS_UNAVAILABLE,
        mean=None,
        std=None,
        fold_scores=(),
        fit_time_s=0.0,
        error="dataset unavailable: gone",
        scores={"f1": [0.5]},
    )
    assert p.decode(p.encode(result)) == result
