"""Strategies through the real SearchCore: tpe on eight slots never dispatches a point twice,
failures reach the study, and a checkpoint's trials rebuild it on resume."""

from __future__ import annotations

from pathlib import Path

from optuna.trial import TrialState

from console.scheduler.checkpoint import restore_ledger
from console.scheduler.states import SearchState
from console.search.optuna_study import param_key
from console.searchfile.toml_io import SavedState
from node import protocol as p
from tests.console_tests.core_harness import Harness

EIGHT = 'seconds = { type = "choice", values = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7] }'
SEARCH = {"strategy": "tpe", "max_trials": 8, "space": EIGHT, "extra_search": "parallelism = 8"}


def test_tpe_on_eight_slots_dispatches_eight_distinct_points_and_tells_each(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, **SEARCH)
    node = h.node("n1", slots=8)
    node.hello()
    h.tick()
    tasks = node.tasks()
    assert len(tasks) == 8  # all eight out at once, none told yet
    assert len({param_key(t.params) for t in tasks}) == 8  # the whole space, each point once
    for task in tasks[:-1]:
        node.finish(task, mean=task.params["seconds"])
    node.finish(tasks[-1], status=p.STATUS_ERROR)  # an estimator error fails the trial at once
    h.tick()
    assert h.core.state == SearchState.FINISHED
    study = h.core.strategy.bridge.study
    # The sampler's repeats were re-asked and retired in the study (FAIL, or the repeated
    # point's score); what the scheduler ran is there once each, and nothing is left running.
    assert h.core.strategy.duplicates > 0
    assert not study.get_trials(states=(TrialState.RUNNING,))
    scores = {t.value for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert scores == {t.params["seconds"] for t in tasks[:-1]}
    assert study.get_trials(states=(TrialState.FAIL,))


def test_a_checkpoint_rebuilds_the_study_with_its_running_trials(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, **SEARCH)
    node = h.node("n1", slots=3)
    node.hello()
    h.tick()
    first = node.tasks()
    node.finish(first[0], mean=0.5)
    h.tick()
    rows = [trial.to_row() for trial in h.core.ledger.trials.values()]
    state = SavedState("stopped", h.core.spec.config_hash(), "2026-01-01T00:00:00+00:00", rows)
    ledger, strategy, warnings = restore_ledger(h.core.spec, state)
    assert warnings == []
    study = strategy.bridge.study
    assert [t.state for t in study.trials].count(TrialState.COMPLETE) == 1
    running = {param_key(strategy.bridge.params[i]) for i in strategy.bridge.running}
    pending = {param_key(t.params) for t in ledger.trials.values() if t.status == "pending"}
    assert running == pending and len(pending) == 3  # in flight, kept with their saved params
    fresh = strategy.ask(len(ledger))
    assert param_key(fresh) not in {param_key(t.params) for t in ledger.trials.values()}
