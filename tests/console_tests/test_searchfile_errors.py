"""Bad search files: every error names the file, the dotted key and, where it can, the line."""

from __future__ import annotations

import pickle

import pytest

from console.searchfile.toml_io import SearchFileError, load_search, save_search
from tests.console_tests.searchfile_helpers import FILES, SAMPLE, errors_of, state_for, trial


def test_syntax_error_gives_line_and_column():
    (error,) = errors_of(FILES / "syntax_error.toml")
    assert error.startswith(f"{FILES / 'syntax_error.toml'}:7:10: syntax error: ")
    assert "(at line" not in error


def test_unknown_keys_are_named_with_suggestions():
    name = FILES / "unknown_keys.toml"
    assert errors_of(name) == [
        f"{name}:3: search.max_trails: unknown key (did you mean 'max_trials'?)",
        f"{name}:13: space.C.logg: unknown key for type 'float' (did you mean 'log'?)",
        f"{name}:15: clustr: unknown table (did you mean 'cluster'?)",
    ]


def test_bad_ranges():
    name = FILES / "bad_ranges.toml"
    assert errors_of(name) == [
        f"{name}:12: space.C.low: must be less than high (got low = 10.0, high = 10.0)",
        f"{name}:13: space.gamma.low: log = true needs low > 0 (got 0.0)",
        f"{name}:14: space.degree.step: must be greater than 0 (got 0)",
    ]


def test_unknown_estimator():
    name = FILES / "unknown_estimator.toml"
    assert errors_of(name) == [
        f"{name}:9: model.estimator: unknown estimator 'random_forrest' "
        "(did you mean 'random_forest'?)"
    ]


def test_empty_space():
    name = FILES / "empty_space.toml"
    assert errors_of(name) == [
        f"{name}:11: space: is empty; define at least one parameter to search"
    ]


def test_unknown_parameter_names_get_suggestions():
    name = FILES / "unknown_param.toml"
    assert errors_of(name) == [
        f"{name}:10: model.fixed.kernal: svc has no parameter 'kernal' (did you mean 'kernel'?)",
        f"{name}:13: space.Cx: svc has no parameter 'Cx' (did you mean 'C'?)",
        f"{name}:14: space.C: also set in model.fixed; search it or fix it, not both",
    ]


def test_wrong_types():
    name = FILES / "wrong_types.toml"
    errors = errors_of(name)
    assert f"{name}:4: search.cv: expected an integer, got string '5'" in errors
    assert f"{name}:3: search.max_trials: expected an integer, got float 10.0" in errors
    assert f"{name}:5: search.seed: expected an integer, got boolean True" in errors
    assert f"{name}:8: dataset.source: expected a string, got integer 42" in errors
    assert f"{name}:12: model.fixed: expected a table, got string 'rbf'" in errors
    assert f"{name}:15: space.C.low: expected a number, got string '0.1'" in errors
    assert f"{name}:19: export.auto: expected a boolean, got string 'yes'" in errors
    assert len(errors) == 9


def test_several_errors_are_all_reported_in_file_order():
    name = FILES / "many_errors.toml"
    assert errors_of(name) == [
        f"{name}:2: search.name: must be letters, digits, '.', '_' or '-' (got 'many errors')",
        f"{name}:4: search.cv: must be at least 2 (got 1)",
        f"{name}:7: dataset.source: expected sklearn:NAME, file:PATH.csv or s3://BUCKET/KEY.csv",
        f'{name}:14: space.C: grid needs `step` or `type = "choice"`',
        f"{name}:15: space.kernel.values[2]: duplicate value 'linear'",
        f"{name}:15: space.kernel: also set in model.fixed; search it or fix it, not both",
    ]


_RANDOM, _NSGA2 = 'strategy = "random"', 'strategy = "nsga2"'


def _objectives(names: str = '"accuracy", "fit_time"', strategy: str = "nsga2") -> str:
    return f'strategy = "{strategy}"\nobjectives = [{names}]'


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("", "[oops]\n"), ": oops: unknown table"),
        (('strategy = "random"', 'strategy = "bayes"'), "search.strategy: must be one of"),
        (("max_trials = 40", "max_trials = 0"), "search.max_trials: must be at least 1"),
        (("max_trials = 40", ""), 'search.max_trials: required for strategy = "random"'),
        (("seed = 7", "seed = -1"), "search.seed: must be at least 0"),
        (('metric = "accuracy"', 'metric = "acc"'), "search.metric: unknown scikit-learn scorer"),
        (('metric = "accuracy"', 'metric = "r2"'), "search.metric: 'r2' does not suit"),
        (("trial_timeout_s = 600", "trial_timeout_s = 0"), "search.trial_timeout_s: must be"),
        (('name = "digits-svc"', 'name = ".."'), "search.name: must be letters"),
        (('source = "sklearn:digits"', 'source = "sklearn:diabetes"'), "svc is a classifier"),
        (('source = "sklearn:digits"', 'source = "file:x.txt"'), "expected file:PATH.csv"),
        (('source = "sklearn:digits"', 'source = "s3://b"'), "expected s3://BUCKET/KEY.csv"),
        (('source = "sklearn:digits"', 'source = "file:x.csv"\nsha256 = "ab"'), "dataset.sha256"),
        (("[dataset]\n", "[dataset]\nsha256 = 'x'\n"), "sha256: only applies to file: and s3"),
        (('bind = "tcp://127.0.0.1:5555"', 'bind = "127.0.0.1:5555"'), "cluster.bind: expected"),
        (("local_nodes = 2", "local_nodes = 2\nlocal_slots = 0"), "cluster.local_slots: must be"),
        (("local_nodes = 2", "heartbeat_s = -1.0"), "cluster.heartbeat_s: must be a number"),
        (('bucket = "models"', 'bucket = "My_Models"'), "export.bucket: not a valid S3 bucket"),
        (("[model]\n", ""), "dataset.estimator: unknown key"),
        # Several objectives (console/search/objectives.py).
        ((_RANDOM, _NSGA2), 'search.objectives: required for strategy = "nsga2"'),
        ((_RANDOM, _NSGA2 + '\nobjectives = ["accuracy"]'), "needs at least 2 objectives"),
        ((_RANDOM, _NSGA2 + '\nobjectives = "accuracy"'), "search.objectives: expected an array"),
        ((_RANDOM, _objectives('"accuracy", "accuracy"')), "lists an objective twice"),
        (
            (_RANDOM, _objectives('"accuracy", "f1_macro"')),
            "search.objectives: 'f1_macro' is not a recorded metric (add it to search.metrics)",
        ),
        (
            (_RANDOM, _objectives('"accuracy", "fit_time"', "cmaes")),
            'search.objectives: strategy "cmaes" optimises one objective',
        ),
        (
            ("max_attempts = 3", 'objectives = ["accuracy", "fit_time"]\n[search.pruning]'),
            "search.objectives: Optuna cannot prune a trial with several objectives",
        ),
    ],
)
def test_each_rule_names_its_key(tmp_path, edit, expected):
    old, new = edit
    text = SAMPLE.read_text()
    assert old in text
    text = text.replace(old, new, 1) if old else text + new
    path = tmp_path / "sample.toml"
    path.write_text(text)
    errors = errors_of(path)
    assert any(expected in error for error in errors), errors
    assert all(error.startswith(str(path)) for error in errors)


def test_error_pickles_and_bom_is_accepted(tmp_path):
    error = SearchFileError(["a.toml:1: search.cv: x", "a.toml:2: search.seed: y"])
    copy = pickle.loads(pickle.dumps(error))
    assert copy.errors == error.errors and str(copy) == str(error)
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    assert load_search(path).spec == load_search(SAMPLE).spec


def test_missing_tables_and_files(tmp_path):
    path = tmp_path / "only_search.toml"
    path.write_text('[search]\nname = "x"\nmax_trials = 1\n')
    assert errors_of(path) == [
        f"{path}: dataset: missing required table [dataset]",
        f"{path}: model: missing required table [model]",
        f"{path}: space: missing required table [space]",
    ]
    (error,) = errors_of(tmp_path / "absent.toml")
    assert error.startswith(f"{tmp_path / 'absent.toml'}: cannot read: ")


def test_bad_saved_trials_are_located(tmp_path):
    spec = load_search(SAMPLE).spec
    path = tmp_path / "s.toml"
    rows = [trial(0, params={"C": 1.0}), trial(1, params={"C": 2.0}), trial(2, params={})]
    save_search(path, spec, state_for(spec, rows))
    text = path.read_text()
    text = text.replace('status = "pending"', 'status = "running"', 1)
    text = text.replace("id = 0", "id = 0\nretries = 2").replace("id = 2", "id = 1")
    path.write_text(text)
    lines = text.splitlines()
    located = {error.split(": ")[1]: int(error.split(":")[1]) for error in errors_of(path)}
    assert set(located) == {"trials[0].status", "trials[0].retries", "trials[2].id"}
    assert lines[located["trials[0].status"] - 1] == 'status = "running"'
    assert lines[located["trials[0].retries"] - 1] == "retries = 2"
    assert lines[located["trials[2].id"] - 1] == "id = 1"
