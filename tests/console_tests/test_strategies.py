"""Tests for search spaces and the grid and random strategies."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from console.search import (
    STRATEGY_NAMES,
    ChoiceParam,
    FloatParam,
    IntParam,
    make_strategy,
    parse_space,
    space_errors,
)
from console.search.space import grid_size, grid_value

N = 2000


def drain(strategy) -> list[dict]:
    trials = []
    while (params := strategy.ask(len(trials))) is not None:
        trials.append(params)
    return trials


def draws(param, seed: int = 1) -> list:
    strategy = make_strategy("random", {"x": param}, seed=seed, max_trials=N)
    return [params["x"] for params in drain(strategy)]


# ---- space -----------------------------------------------------------------------------------


def test_parse_space_builds_params_in_file_order():
    space, errors = parse_space(
        {
            "C": {"type": "float", "low": 0.01, "high": 100, "log": True},
            "depth": {"type": "int", "low": 1, "high": 9, "step": 2},
            "kernel": {"type": "choice", "values": ["rbf", 3, 0.5, True, "None"]},
        },
        "space",
    )
    assert errors == []
    assert list(space) == ["C", "depth", "kernel"]
    assert space["C"] == FloatParam(0.01, 100.0, log=True)
    assert isinstance(space["C"].high, float)
    assert space["depth"] == IntParam(1, 9, step=2)
    assert space["kernel"] == ChoiceParam(("rbf", 3, 0.5, True, None))


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"type": "float", "low": 1.0, "high": 1.0}, "space.p.low: must be less than high"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "space.p.low: log = true needs"),
        ({"type": "int", "low": -1, "high": 5, "log": True}, "space.p.low: log = true needs"),
        ({"type": "float", "low": 0.0, "high": 1.0, "step": -0.5}, "space.p.step: must be greater"),
        ({"type": "int", "low": 1.0, "high": 5}, "space.p.low: expected an integer, got float"),
        ({"type": "int", "low": 1, "high": 5, "step": 0.5}, "space.p.step: expected an integer"),
        ({"type": "float", "low": "0", "high": 1.0}, "space.p.low: expected a number, got string"),
        ({"type": "float", "high": 1.0}, "space.p.low: required key is missing"),
        ({"type": "float", "low": 0, "high": 1, "log": "yes"}, "space.p.log: expected a boolean"),
        ({"type": "float", "low": 0, "high": 1, "values": [1]}, "space.p.values: unknown key"),
        ({"type": "choice", "values": [1], "low": 0}, "space.p.low: unknown key for type 'choice'"),
        ({"type": "choice", "values": []}, "space.p.values: must not be empty"),
        ({"type": "choice", "values": "rbf"}, "space.p.values: expected a non-empty array"),
        ({"type": "choice", "values": [[1, 2]]}, "space.p.values[0]: expected a string, number"),
        ({"type": "choice", "values": [1, 2, 1]}, "space.p.values[2]: duplicate value 1"),
        ({"type": "real", "low": 0, "high": 1}, 'space.p.type: must be "float", "int" or "choice"'),
        ({"low": 0, "high": 1}, "space.p.type: must be"),
        (0.5, "space.p: expected a table like"),
    ],
)
def test_parse_space_rejects_bad_params(table, expected):
    space, errors = parse_space({"p": table}, "space")
    assert space == {}
    assert any(error.startswith(expected) for error in errors), errors


def test_parse_space_reports_every_param_and_empty_space():
    _, errors = parse_space(
        {"a": {"type": "float", "low": 2.0, "high": 1.0}, "b": {"type": "int", "low": 0}}, "space"
    )
    assert [error.split(":")[0] for error in errors] == ["space.a.low", "space.b.high"]
    assert parse_space({}, "space")[1] == [
        "space: is empty; define at least one parameter to search"
    ]


def test_choice_values_are_not_confused_across_types():
    # True == 1 == 1.0 in Python, but they are different values for an estimator.
    space, errors = parse_space({"p": {"type": "choice", "values": [1, 1.0, True]}}, "space")
    assert errors == []
    assert space["p"].values == (1, 1.0, True)


def test_to_toml_gives_back_the_table():
    tables = {
        "a": {"type": "float", "low": 0.5, "high": 2.5, "log": True, "step": 0.5},
        "b": {"type": "int", "low": 1, "high": 9},
        "c": {"type": "choice", "values": ["x", "None", 2]},
    }
    space, _ = parse_space(tables, "space")
    assert {name: param.to_toml() for name, param in space.items()} == tables


def test_float_grid_points_are_exact_decimals():
    param = FloatParam(0.0, 1.0, step=0.1)
    assert grid_size(param) == 11
    assert [grid_value(param, i) for i in range(11)] == [i / 10 for i in range(11)]
    assert grid_value(FloatParam(0.1, 0.35, step=0.1), 2) == 0.3  # not 0.30000000000000004
    assert grid_size(FloatParam(0.0, 1.0, step=0.3)) == 4  # 0, 0.3, 0.6, 0.9: high is a bound


# ---- grid ------------------------------------------------------------------------------------


def test_grid_enumerates_the_full_product_in_file_order():
    space = {
        "kernel": ChoiceParam(("linear", "rbf", None)),
        "degree": IntParam(2, 4),
        "C": FloatParam(0.5, 1.5, step=0.5),
    }
    strategy = make_strategy("grid", space, seed=0, max_trials=None)
    expected = [
        {"kernel": k, "degree": d, "C": c}
        for k, d, c in itertools.product(["linear", "rbf", None], [2, 3, 4], [0.5, 1.0, 1.5])
    ]
    assert strategy.planned_total() == 27
    assert drain(strategy) == expected
    assert strategy.ask(27) is None  # stays exhausted


def test_grid_respects_max_trials_and_int_steps():
    space = {"n": IntParam(10, 50, step=20), "flag": ChoiceParam((True, False))}
    strategy = make_strategy("grid", space, seed=0, max_trials=4)
    assert strategy.planned_total() == 4
    assert drain(strategy) == [
        {"n": 10, "flag": True},
        {"n": 10, "flag": False},
        {"n": 30, "flag": True},
        {"n": 30, "flag": False},
    ]
    # A cap above the grid's size changes nothing.
    assert make_strategy("grid", space, seed=0, max_trials=100).planned_total() == 6


def test_grid_ignores_seed_and_tell():
    space = {"n": IntParam(1, 5)}
    first = make_strategy("grid", space, seed=1, max_trials=None)
    second = make_strategy("grid", space, seed=2, max_trials=None)
    second.tell(0, "ok", 0.9)
    assert drain(first) == drain(second)


def test_grid_rejects_what_it_cannot_enumerate():
    space = {
        "C": FloatParam(0.1, 1.0),
        "gamma": FloatParam(0.1, 1.0, log=True, step=0.1),
        "n": IntParam(1, 100, log=True),
    }
    errors = space_errors("grid", space)
    assert errors[0] == 'space.C: grid needs `step` or `type = "choice"`'
    assert errors[1].startswith("space.gamma.log: grid does not support log = true")
    assert errors[2].startswith("space.n.log: grid does not support log = true")
    assert space_errors("random", space) == []
    with pytest.raises(ValueError, match="grid needs `step`"):
        make_strategy("grid", space, seed=0, max_trials=None)


def test_make_strategy_validates_its_arguments():
    space = {"n": IntParam(1, 5)}
    assert set(STRATEGY_NAMES) >= {"grid", "random", "tpe", "qmc", "cmaes"}
    with pytest.raises(ValueError, match="unknown strategy 'bayes'"):
        make_strategy("bayes", space, seed=0, max_trials=5)
    with pytest.raises(ValueError, match="needs max_trials"):
        make_strategy("random", space, seed=0, max_trials=None)
    with pytest.raises(ValueError, match="must be positive"):
        make_strategy("random", space, seed=0, max_trials=0)


# ---- random ----------------------------------------------------------------------------------


SPACE = {
    "C": FloatParam(1e-3, 1e3, log=True),
    "depth": IntParam(1, 20),
    "kernel": ChoiceParam(("rbf", "poly", None)),
}


def test_random_runs_max_trials_and_is_deterministic_per_seed():
    strategy = make_strategy("random", SPACE, seed=7, max_trials=50)
    assert strategy.name == "random"
    assert strategy.planned_total() == 50
    first = drain(strategy)
    assert len(first) == 50
    assert drain(make_strategy("random", SPACE, seed=7, max_trials=50)) == first
    assert drain(make_strategy("random", SPACE, seed=8, max_trials=50)) != first


@pytest.mark.parametrize("name", ["grid", "random"])
def test_resume_replays_the_same_trials(name):
    space = {"C": FloatParam(0.0, 1.0, step=0.25), "kernel": ChoiceParam(("a", "b", "c"))}
    full = drain(make_strategy(name, space, seed=3, max_trials=12))
    for k in (0, 1, 5, 12):
        fresh = make_strategy(name, space, seed=3, max_trials=12)
        fresh.restore([])
        replayed = [fresh.ask(i) for i in range(k)]
        for i in range(k):
            fresh.tell(i, "ok", 0.5)
        assert replayed == full[:k]
        # and it carries on where the first run would have, whatever order it is asked in
        assert [fresh.ask(i) for i in range(k, 12)] == full[k:]
        assert fresh.ask(0) == full[0]


def test_random_values_are_plain_python_types():
    params = make_strategy("random", SPACE, seed=0, max_trials=1).ask(0)
    assert type(params["C"]) is float
    assert type(params["depth"]) is int


def test_random_float_uniform_covers_its_bounds():
    values = draws(FloatParam(-2.0, 3.0))
    assert all(-2.0 <= v <= 3.0 for v in values)
    assert statistics.mean(values) == pytest.approx(0.5, abs=0.15)
    assert min(values) < -1.9 and max(values) > 2.9


def test_random_float_log_uniform_has_geometric_median():
    values = draws(FloatParam(1e-5, 0.1, log=True))
    assert all(1e-5 <= v <= 0.1 for v in values)
    geometric_mean = math.sqrt(1e-5 * 0.1)
    # The median of a log-uniform draw is the geometric mean of its bounds (~3e-3), far below
    # the arithmetic midpoint (0.05).
    assert statistics.median(values) == pytest.approx(geometric_mean, rel=0.25)
    logs = [math.log10(v) for v in values]
    below = sum(log < -4 for log in logs) / N  # one decade out of four
    assert below == pytest.approx(0.25, abs=0.04)


def test_random_int_is_inclusive_and_roughly_uniform():
    values = draws(IntParam(1, 6))
    assert all(type(v) is int for v in values)
    counts = {k: values.count(k) for k in range(1, 7)}
    assert set(values) == set(range(1, 7))
    assert all(abs(count - N / 6) < N / 6 * 0.25 for count in counts.values()), counts


def test_random_int_log_favours_small_values():
    values = draws(IntParam(1, 1000, log=True))
    assert all(1 <= v <= 1000 for v in values)
    assert statistics.median(values) == pytest.approx(math.sqrt(1000), rel=0.35)
    assert max(values) > 500


def test_random_steps_stay_on_the_grid_within_bounds():
    ints = draws(IntParam(3, 20, step=4))  # 3, 7, 11, 15, 19
    assert set(ints) == {3, 7, 11, 15, 19}
    floats = draws(FloatParam(0.1, 0.5, step=0.1))
    assert set(floats) == {0.1, 0.2, 0.3, 0.4, 0.5}
    logged = draws(FloatParam(0.5, 100.0, log=True, step=0.5))
    assert all(0.5 <= v <= 100.0 and (v / 0.5).is_integer() for v in logged)
    assert statistics.median(logged) < 20  # still log-distributed (uniform would give ~50)
    logged_ints = draws(IntParam(10, 1000, log=True, step=10))
    assert all(10 <= v <= 1000 and v % 10 == 0 for v in logged_ints)


def test_random_choice_is_uniform_and_keeps_none():
    values = draws(ChoiceParam(("a", None, 3)))
    for value in ("a", None, 3):
        assert values.count(value) == pytest.approx(N / 3, rel=0.15)
