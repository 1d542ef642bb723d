"""Search files with pipelines, CV tables, several metrics and conditions; and the pre-flight."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from console.search.grid import GridStrategy
from console.search.random_search import RandomStrategy
from console.search.space import is_active, parse_space
from console.searchfile.preflight import check
from console.searchfile.spec import spec_from_dict
from console.searchfile.toml_io import SearchFileError, load_search, save_search
from tests.console_tests.searchfile_helpers import state_for, trial

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.toml"))
WINE_CSV = REPO / "examples" / "wine_mixed.csv"


def doc(**tables: dict) -> dict:
    base = {
        "search": {"name": "t", "strategy": "grid"},
        "dataset": {"source": f"file:{WINE_CSV}", "target": "cultivar", "drop": ["id", "batch"]},
        "model": {
            "estimator": "svc",
            "columns": {
                "num": {"select": "numeric", "steps": {"impute": "simple_imputer"}},
                "cat": {
                    "select": "categorical",
                    "steps": {"impute": "simple_imputer", "onehot": "one_hot_encoder"},
                },
            },
            "fixed": {"columns__cat__impute__strategy": "most_frequent"},
        },
        "space": {"svc__C": {"type": "choice", "values": [1.0, 2.0]}},
    }
    for name, table in tables.items():
        base[name] = base[name] | table
    return base


def errors_of(data: dict) -> list[str]:
    spec, errors = spec_from_dict(data)
    assert spec is None, "expected errors"
    return errors


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load_pass_preflight_and_round_trip(path: Path, tmp_path: Path) -> None:
    spec = load_search(path).spec
    report = check(spec)
    assert report.errors == [] and report.notes == []
    save_search(tmp_path / "c.toml", spec, state_for(spec, [trial(0, params={})]))
    assert load_search(tmp_path / "c.toml").spec == spec


def test_the_shipped_csv_is_the_generated_one(tmp_path: Path) -> None:
    assert len(EXAMPLES) >= 3
    text = WINE_CSV.read_text()
    assert text.startswith("id,alcohol,") and ",," in text  # has missing cells
    assert len(text.splitlines()) == 179


def test_a_good_pipeline_spec_and_its_task_parts() -> None:
    data = doc(
        search={
            "name": "t",
            "strategy": "grid",
            "metrics": ["accuracy", "f1_macro"],
            "cv": {"kind": "repeated_stratified", "n_splits": 3, "n_repeats": 2},
        }
    )
    spec, errors = spec_from_dict(data)
    assert errors == [] and spec is not None
    assert spec.metric == "accuracy" and spec.metrics == ("accuracy", "f1_macro")
    assert spec.cv == 6  # folds in all: n_splits * n_repeats
    assert spec.model.pipeline["steps"] == [["columns", "column_transformer"]]
    assert spec.scoring()["rank"] == "accuracy"


def test_old_style_files_keep_their_task_shape() -> None:
    spec = load_search(REPO / "tests/console_tests/files/svc_digits.toml").spec
    assert spec.splitter == {} and spec.scoring() == {} and spec.model.pipeline == {}
    assert set(spec.dataset_ref()) == {"source", "target", "sha256"}


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ({"search": {"cv": {"kind": "group_kfold"}}}, "search.cv.group: required for group_kfold"),
        ({"search": {"cv": {"kind": "kfold", "n_repeats": 2}}}, "search.cv.n_repeats: only"),
        ({"search": {"cv": {"kind": "kfolds"}}}, "(did you mean 'kfold'?)"),
        ({"search": {"cv": {"kind": "kfold", "shufle": True}}}, "search.cv.shufle: unknown key"),
        ({"search": {"metrics": ["accuracy", "f2"]}}, "search.metrics: unknown scikit-learn"),
        (
            {"search": {"scorers": {"x": {"function": "os.system"}}}},
            "search.scorers.x.function: unknown metric function 'os.system'",
        ),
        (
            {"search": {"scorers": {"x": {"function": "f1_score", "pos": 1}}}},
            "search.scorers.x.pos: unknown key",
        ),
        (
            {"search": {"scorers": {"x": {"function": "f1_score"}}}},
            "search.scorers.x: defined but not in search.metric or metrics",
        ),
        (
            {"model": {"steps": {"s": "sklearn.preprocessing.StandardScaler"}}},
            "model.steps.s: unknown step",
        ),
        (
            {"model": {"columns": {"num": {"select": "floats", "steps": {}}}}},
            'model.columns.num.select: expected "numeric"',
        ),
        (
            {"space": {"columns__num__impute__strategi": {"type": "choice", "values": ["mean"]}}},
            "(did you mean 'columns__num__impute__strategy'?)",
        ),
        (
            {"space": {"columns__num__impute": {"type": "choice", "values": ["nope"]}}},
            "space.columns__num__impute: step 'columns__num__impute' cannot be 'nope'",
        ),
        ({"dataset": {"features": []}}, "dataset.features: must not be empty"),
        ({"search": {"metrics": ["r2"]}}, "search.metric: 'r2' does not suit a classifier"),
    ],
)
def test_bad_tabular_keys_are_named(tables: dict, expected: str) -> None:
    assert any(expected in error for error in errors_of(doc(**tables))), errors_of(doc(**tables))


def test_all_errors_at_once() -> None:
    errors = errors_of(
        doc(
            search={"cv": {"kind": "group_kfold", "x": 1}, "metrics": ["f2"]},
            model={"steps": {"a": "b"}},
        )
    )
    assert len(errors) >= 4


SVC_SPACE = {
    "kernel": {"type": "choice", "values": ["linear", "rbf", "poly"]},
    "C": {"type": "choice", "values": [1, 10]},
    "gamma": {"type": "choice", "values": [0.1, 1.0], "when": {"kernel": ["rbf", "poly"]}},
    "degree": {"type": "int", "low": 2, "high": 3, "when": {"kernel": "poly"}},
}


def test_grid_runs_each_conditional_point_once() -> None:
    space, errors = parse_space(SVC_SPACE, "space")
    assert errors == []
    grid = GridStrategy(space)
    points = [grid.params_at(i) for i in range(grid.planned_total())]
    assert grid.planned_total() == 2 + 2 * 2 + 2 * 2 * 2
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)
    for point in points:
        assert ("gamma" in point) == (point["kernel"] != "linear")
        assert ("degree" in point) == (point["kernel"] == "poly")


def test_random_draws_only_active_params_and_without_conditions_as_before() -> None:
    space, _ = parse_space(SVC_SPACE, "space")
    strategy = RandomStrategy(space, seed=4, max_trials=50)
    for trial_id in range(50):
        point = strategy.ask(trial_id)
        assert point is not None
        assert all(is_active(space[name], point) for name in point)
        assert ("gamma" in point) == (point["kernel"] != "linear")
    plain = {k: {kk: vv for kk, vv in v.items() if kk != "when"} for k, v in SVC_SPACE.items()}
    unconditioned, _ = parse_space(plain, "space")
    first = RandomStrategy(unconditioned, seed=4, max_trials=1).ask(0)
    assert set(first or ()) == set(SVC_SPACE)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"kernal": ["rbf"]}, "space.gamma.when.kernal: a condition names a choice"),
        ({"kernel": ["sigmoid"]}, "space.gamma.when.kernel: 'sigmoid' not among"),
        ("rbf", "space.gamma.when: expected a table"),
    ],
)
def test_bad_conditions(when: object, expected: str) -> None:
    space = dict(SVC_SPACE, gamma={"type": "float", "low": 0.1, "high": 1.0, "when": when})
    _, errors = parse_space(space, "space")
    assert any(expected in error for error in errors), errors


def test_a_condition_round_trips_through_toml() -> None:
    space, _ = parse_space(SVC_SPACE, "space")
    assert parse_space({n: p.to_toml() for n, p in space.items()}, "space")[0] == space


# -- pre-flight -------------------------------------------------------------------------------


def preflight_errors(data: dict) -> list[str]:
    spec, errors = spec_from_dict(data)
    assert errors == [], errors
    assert spec is not None
    return check(spec).errors


def test_preflight_names_every_problem(tmp_path: Path) -> None:
    data = doc(
        dataset={"drop": ["batch", "nope"]},
        search={
            "cv": {"kind": "group_kfold", "n_splits": 4, "group": "bach"},
            "metrics": ["accuracy", "f1_x"],
            "scorers": {"f1_x": {"function": "f1_score", "pos_label": "x"}},
        },
    )
    errors = preflight_errors(data)
    assert "dataset.drop: no column 'nope'" in errors[0]
    assert "search.cv.group: no column 'bach'" in errors[1]
    assert any("search.scorers.f1_x.pos_label: 'x' is not a label" in e for e in errors)


def test_preflight_catches_a_fit_that_fails_and_a_missing_target(tmp_path: Path) -> None:
    data = doc(model={"fixed": {"columns__cat__impute__strategy": "mean"}})
    assert any("model: fitting a 60-row sample fails" in e for e in preflight_errors(data))
    missing = doc(dataset={"target": "kind"})
    assert any("target column 'kind' is missing" in e for e in preflight_errors(missing))
    plain = doc(model={"columns": {}, "fixed": {}, "steps": {"scale": "standard_scaler"}})
    assert any(
        "column 'region' holds text (e.g. 'north') that no step encodes" in e
        for e in preflight_errors(plain)
    )
    groups = doc(search={"cv": {"kind": "group_kfold", "n_splits": 20, "group": "batch"}})
    assert any("has only 12 groups" in e for e in preflight_errors(groups))


def test_preflight_on_a_classic_search_is_clean() -> None:
    report = check(load_search(REPO / "tests/console_tests/files/svc_digits.toml").spec)
    assert report.errors == []


def test_the_cli_exits_2_and_dispatches_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = doc(dataset={"target": "kind"})
    text = "\n".join(_toml_lines(data))
    path = tmp_path / "bad.toml"
    path.write_text(text)
    tomllib.loads(text)
    run = subprocess.run(
        [sys.executable, "-m", "console", "--headless", str(path), "--local-nodes", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "pre-flight check failed, nothing was dispatched" in run.stderr
    assert f"{path}:" in run.stderr and ": dataset: " in run.stderr
    assert not (tmp_path / "runs").exists()


def _toml_lines(data: dict) -> list[str]:
    import tomli_w

    return [tomli_w.dumps(data)]


def test_a_search_file_error_still_comes_first(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text('[search]\nname = "t"\ncv = { kind = "kfold", n_split = 3 }\n')
    with pytest.raises(SearchFileError, match=r"search\.cv\.n_split: unknown key"):
        load_search(path)


def test_trial_detail_shows_every_metric() -> None:
    from console.scheduler.ledger import Trial
    from console.tui.screens.trial_detail import describe_trial

    trial = Trial(
        id=3,
        params={"C": 1.0},
        score=0.9,
        std=0.01,
        by_fold={1: 0.8, 2: 1.0},
        metric_by_fold={"f1_macro": {1: 0.8, 2: 1.0}, "accuracy": {1: 0.75, 2: 0.95}},
    )
    from console.view.feed import trial_view

    text = describe_trial(trial_view(trial, max_attempts=3), "f1_macro").plain
    assert "f1_macro: 0.900000" in text
    assert "accuracy: 0.850000  (folds 0.7500, 0.9500)" in text


def test_a_nodes_metric_scores_are_cleaned_before_they_are_kept() -> None:
    from console.records import clean_scores

    raw = {"ok": [0.5, 1], "nan": [float("nan")], "text": ["x"], "one": 0.3, "flag": [True]}
    assert clean_scores(raw) == {"ok": (0.5, 1.0)}
    assert clean_scores([1, 2]) == {}
