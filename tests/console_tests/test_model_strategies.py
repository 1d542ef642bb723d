"""The model-based strategies (Optuna's samplers behind our Strategy interface): valid points, no
duplicates under parallel slots, tell of every status, and resume from records."""

from __future__ import annotations

import itertools

import optuna
import pytest
from optuna.trial import TrialState

from console.records import TrialRecord, TrialStatus
from console.search import ChoiceParam, FloatParam, IntParam, make_strategy
from console.search.model_based import OptunaStrategy
from console.search.optuna_study import param_key

SPACE = {
    "C": FloatParam(1e-3, 1e3, log=True),
    "depth": IntParam(2, 32, step=2),
    "n": IntParam(1, 1000, log=True),
    "frac": FloatParam(0.0, 1.0, step=0.25),
    "g": FloatParam(0.01, 10.0, log=True, step=0.01),
    "kernel": ChoiceParam(("rbf", 1, 1.0, True, None)),
}
CONTINUOUS = {"C": FloatParam(1e-3, 1e3, log=True), "x": FloatParam(-1.0, 1.0), "k": IntParam(1, 9)}


def score(params: dict) -> float:
    """A smooth made-up objective with its best near C = 1, x = 0.3."""
    import math

    return -abs(math.log10(params["C"])) - abs(params.get("x", 0.3) - 0.3)


def assert_valid(params: dict, space: dict) -> None:
    assert list(params) == list(space)
    for name, value in params.items():
        param = space[name]
        if isinstance(param, ChoiceParam):
            assert any(type(v) is type(value) and v == value for v in param.values), (name, value)
            continue
        assert type(value) is (int if isinstance(param, IntParam) else float), (name, value)
        assert param.low <= value <= param.high, (name, value)
        if param.step is not None:
            steps = (value - param.low) / param.step
            assert steps == pytest.approx(round(steps), abs=1e-9), (name, value)


@pytest.mark.parametrize(
    ("name", "space"), [("tpe", SPACE), ("qmc", SPACE), ("cmaes", CONTINUOUS), ("random", SPACE)]
)
def test_every_strategy_proposes_valid_points(name: str, space: dict) -> None:
    strategy = make_strategy(name, space, seed=1, max_trials=40, slots=4)
    for trial_id in range(40):
        params = strategy.ask(trial_id)
        assert params is not None
        assert_valid(params, space)
        strategy.tell(trial_id, "ok", score(params) if "C" in params else 0.0)
    assert strategy.ask(40) is None
    assert strategy.planned_total() == 40


def test_tpe_is_optuna_with_constant_liar_and_enough_startup_trials() -> None:
    strategy = make_strategy("tpe", SPACE, seed=1, max_trials=50, slots=32)
    assert isinstance(strategy, OptunaStrategy)
    sampler = strategy.bridge.study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)  # Optuna's TPE, not a copy of it
    assert sampler._constant_liar and sampler._n_startup_trials == 32
    assert make_strategy("qmc", SPACE, 1, 5).bridge.study.sampler.__class__.__name__ == "QMCSampler"


def test_eight_parallel_asks_are_distinct_and_running_in_the_study() -> None:
    strategy = make_strategy("tpe", SPACE, seed=4, max_trials=100, slots=8)
    for trial_id in range(20):  # past the startup trials, so TPE itself proposes
        strategy.tell(trial_id, "ok", score(strategy.ask(trial_id)))
    batch = [strategy.ask(trial_id) for trial_id in range(20, 28)]  # none told yet
    assert len({param_key(params) for params in batch}) == 8
    running = strategy.bridge.study.get_trials(states=(TrialState.RUNNING,))
    assert len(running) == 8


def test_a_small_discrete_space_never_repeats_a_finished_or_running_point() -> None:
    space = {"a": ChoiceParam(("x", "y", "z")), "b": IntParam(1, 3)}
    strategy = make_strategy("tpe", space, seed=0, max_trials=20, slots=8)
    dispatched, running = [], []
    for trial_id in range(9):
        params = strategy.ask(trial_id)
        assert params is not None
        dispatched.append(param_key(params))
        running.append(trial_id)
        if len(running) == 3:  # three slots busy: the oldest finishes
            done = running.pop(0)
            strategy.tell(done, "ok", float(done))
    assert len(set(dispatched)) == 9  # every point once, though the sampler suggested repeats
    assert strategy.duplicates > 0
    assert strategy.ask(9) is None  # nothing new is left: the search ends instead of repeating
    combos = {param_key({"a": a, "b": b}) for a, b in itertools.product("xyz", (1, 2, 3))}
    assert set(dispatched) == combos


def test_tell_failed_and_pruned_reach_the_study_and_a_retry_scores_later() -> None:
    strategy = make_strategy("tpe", CONTINUOUS, seed=2, max_trials=10)
    for trial_id in range(3):
        strategy.ask(trial_id)
    strategy.tell(0, "failed", None)
    strategy.tell(1, "pruned", None)
    strategy.tell(2, "ok", 0.5)
    states = [t.state for t in strategy.bridge.study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE]
    strategy.tell(0, "ok", 0.7)  # the operator retried trial 0 and it scored
    assert strategy.bridge.study.best_value == 0.7


def records_of(strategy, count: int) -> tuple[list[dict], list[TrialRecord]]:
    asked, records = [], []
    for trial_id in range(count):
        params = strategy.ask(trial_id)
        asked.append(params)
        value = score(params)
        strategy.tell(trial_id, "ok", value)
        records.append(TrialRecord(trial_id, params, TrialStatus.OK, value, 0.0, (value, value)))
    return asked, records


def test_resume_rebuilds_the_study_and_does_not_replay_the_first_points() -> None:
    first = make_strategy("tpe", CONTINUOUS, seed=5, max_trials=60, slots=2)
    asked, records = records_of(first, 25)
    pending = TrialRecord(25, first.ask(25))  # in flight when the console stopped
    resumed = make_strategy("tpe", CONTINUOUS, seed=5, max_trials=60, slots=2)
    resumed.restore([*records, pending])
    study = resumed.bridge.study
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 25
    assert study.best_value == max(r.score for r in records)
    running = study.get_trials(states=(TrialState.RUNNING,))
    assert [t.params["x"] for t in running] == [pending.params["x"]]  # saved params, not re-asked
    nxt = [resumed.ask(trial_id) for trial_id in range(26, 34)]
    seen = {param_key(p) for p in [*asked, pending.params]}
    assert not seen & {param_key(p) for p in nxt}
    assert nxt[:8] != asked[:8]


def test_restore_keeps_pruned_fold_means_and_failures() -> None:
    strategy = make_strategy("tpe", CONTINUOUS, seed=5, max_trials=10)
    params = {"C": 1.0, "x": 0.0, "k": 3}
    strategy.restore(
        [
            TrialRecord(0, params, TrialStatus.PRUNED, fold_scores=(0.4, 0.2)),
            TrialRecord(1, {**params, "k": 4}, TrialStatus.FAILED, error="boom"),
            TrialRecord(2, {**params, "k": 99}, TrialStatus.OK, 0.9),  # not in the space: skipped
        ]
    )
    trials = strategy.bridge.study.get_trials()
    assert [t.state for t in trials] == [TrialState.PRUNED, TrialState.FAIL]
    assert trials[0].intermediate_values == {1: 0.4, 2: pytest.approx(0.3)}


@pytest.mark.parametrize(
    ("name", "space", "message"),
    [
        ("cmaes", SPACE, "space.kernel: cmaes searches float and int ranges only"),
        ("nsga2", CONTINUOUS, 'search.objectives: required for strategy = "nsga2"'),
        ("tpe", None, "the tpe strategy needs max_trials"),
    ],
)
def test_refusals_say_why(name: str, space: dict | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_strategy(name, space or CONTINUOUS, seed=0, max_trials=None if space is None else 5)


def test_gp_is_refused_without_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match='strategy "gp" needs PyTorch'):
            make_strategy("gp", CONTINUOUS, seed=0, max_trials=5)
