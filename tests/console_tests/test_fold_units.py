"""Fold-level work units in the real SearchCore: a lease covers some folds of one trial, each
fold is recorded once, a trial once when its last fold is in; lost units run only what is left."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from console.records import TrialRecord
from console.scheduler import events as ev
from console.scheduler.ledger import Trial
from console.scheduler.states import SearchState
from console.searchfile.toml_io import SavedState
from node import protocol as p
from tests.console_tests.core_harness import Harness

ONE = 'seconds = { type = "choice", values = [0.0] }'
GRID4 = 'seconds = { type = "choice", values = [0.0, 0.1, 0.2, 0.3] }'
HB = 0.2


def test_at_the_tail_one_trial_spreads_its_folds_over_idle_slots_and_is_recorded_once(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, space=ONE, cv=3)
    node = h.node("n1", slots=3)
    node.hello()
    h.tick()
    tasks = node.tasks()
    assert sorted(task.folds for task in tasks) == [(1,), (2,), (3,)]
    scores = {1: 0.9, 2: 0.8, 3: 0.6}
    for task in tasks:
        node.finish_folds(task, {task.folds[0]: scores[task.folds[0]]})
    h.tick()
    (scored,) = h.of(ev.TrialScored)
    trial = h.trial(0)
    assert trial.fold_scores == [0.9, 0.8, 0.6]
    assert scored.score == trial.score == float(np.mean([0.9, 0.8, 0.6]))
    assert trial.std == float(np.std([0.9, 0.8, 0.6]))
    assert h.core.state == SearchState.FINISHED
    assert trial.duration_s == 0.1 * 3  # fit time summed over its units
    assert [a.verdict for a in node.received(p.Ack)].count(p.ACK_RECORDED) == 3


def test_a_whole_unit_whose_folds_all_came_by_progress_keeps_its_fit_time(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, space=ONE, cv=2)
    node = h.node("n1")
    node.hello()
    h.tick()
    (task,) = node.tasks()
    node.progress(task, 1, 0.6, folds=2)
    node.progress(task, 2, 0.8, folds=2)
    node.finish_folds(task, {1: 0.6, 2: 0.8})
    h.tick()
    trial = h.trial(0)
    assert trial.status == "ok" and trial.duration_s == 0.1 and trial.node == "n1"
    assert [a.verdict for a in node.received(p.Ack)] == [p.ACK_RECORDED]


def test_with_work_for_every_slot_trials_go_out_whole(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4, cv=3)
    node = h.node("n1", slots=2)
    node.hello()
    h.tick()
    assert [task.folds for task in node.tasks()] == [(), ()]  # () = every fold


def test_a_lost_unit_keeps_its_reported_folds_and_only_the_rest_run_again(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=ONE, cv=3)
    first = h.node("first")
    first.hello()
    h.tick()
    (task,) = first.tasks()
    assert task.folds == ()
    first.progress(task, 1, 0.7, folds=3)
    first.progress(task, 2, 0.5, folds=3)
    assert h.journal[-1].fold_scores == (0.7, 0.5)  # each fold is durable as it arrives
    h.tick(10 * HB)  # first goes silent: lost, its unit back in line
    assert h.trial(0).by_fold == {1: 0.7, 2: 0.5}
    second = h.node("second")
    second.hello()
    h.tick()
    (retry,) = second.tasks()
    assert retry.folds == (3,) and retry.attempt == 2  # fold 3 was in the lost unit
    second.finish_folds(retry, {3: 0.9})
    h.tick()
    trial = h.trial(0)
    assert trial.status == "ok" and trial.fold_scores == [0.7, 0.5, 0.9]
    assert trial.score == float(np.mean([0.7, 0.5, 0.9]))
    assert trial.duration_s == 0.1  # the unit that scored; the lost one never reported its time
    assert len(h.of(ev.TrialScored)) == 1


def test_a_late_result_for_folds_already_recorded_is_a_duplicate(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=ONE, cv=2)
    slow, fast = h.node("slow"), h.node("fast")
    slow.hello()
    h.tick()
    (old,) = slow.tasks()
    h.tick(10 * HB)  # slow goes silent: its whole-trial unit is requeued
    fast.hello()
    h.tick()
    (new,) = fast.tasks()
    fast.finish_folds(new, {1: 0.8, 2: 0.6})
    h.tick()
    assert h.trial(0).score == 0.7
    slow.hello(slow.held())  # back, with its result for the old lease
    slow.finish_folds(old, {1: 0.1, 2: 0.1})
    h.tick()
    assert h.trial(0).score == 0.7 and len(h.of(ev.TrialScored)) == 1
    assert h.trial(0).fold_scores == [0.8, 0.6]
    (ack,) = [a for a in slow.received(p.Ack) if a.lease_id == old.lease_id]
    assert ack.verdict in (p.ACK_DUPLICATE, p.ACK_STALE)  # either way, the node drops it


def test_an_old_units_result_counts_and_the_unit_rerunning_its_folds_is_cancelled(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, space=ONE, cv=2)
    slow, fast = h.node("slow"), h.node("fast")
    slow.hello()
    h.tick()
    (old,) = slow.tasks()
    h.tick(10 * HB)
    fast.hello()
    h.tick()
    (rerun,) = fast.tasks()
    slow.hello(slow.held())
    slow.finish_folds(old, {1: 0.8, 2: 0.6})  # the first report of those folds wins
    h.tick()
    assert h.trial(0).score == 0.7
    cancels = fast.received(p.Cancel)
    assert [c.lease_id for c in cancels] == [rerun.lease_id]
    assert not h.core.leases


def test_fold_units_and_partial_folds_survive_the_saved_form(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=ONE, cv=3)
    node = h.node("n1", slots=3)
    node.hello()
    h.tick()
    by_fold = {task.folds[0]: task for task in node.tasks()}
    node.finish_folds(by_fold[2], {2: 0.5})
    record = h.journal[-1]
    assert record.folds == (2,) and record.fold_scores == (0.5,)
    assert sorted(lease.folds for lease in record.leases) == [(1,), (2,), (3,)]
    again = Trial.from_record(TrialRecord.from_row(record.to_row()))
    assert again.by_fold == {2: 0.5}
    # A restarted console adopts the two units still out on the node, and nothing else runs.
    state = SavedState(
        status="running",
        config_hash=h.core.search_hash,
        saved_at="2026-12-02T00:00:00+00:00",
        trials=[record.to_row()],
    )
    h2 = Harness.for_search(tmp_path, state=state, space=ONE, cv=3)
    back = h2.node("n1", slots=3)
    back.running = {t.lease_id: t for t in (by_fold[1], by_fold[3])}
    back.hello(back.held())
    h2.tick()
    assert sorted(lease.folds for lease in h2.core.leases) == [(1,), (3,)]
    assert all(lease.adopted for lease in h2.core.leases)
    back.finish_folds(by_fold[1], {1: 0.9})
    back.finish_folds(by_fold[3], {3: 0.7})
    h2.tick()
    assert h2.trial(0).fold_scores == [0.9, 0.5, 0.7]
    assert h2.core.state == SearchState.FINISHED


class ThresholdPruner:
    """Wraps the real strategy; prunes a trial whose running mean is below a bar (a stand-in
    for Optuna's pruners, which the strategy module tests on their own)."""

    def __init__(self, strategy: object, bar: float) -> None:
        self.inner, self.bar, self.asked = strategy, bar, []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def should_prune(self, trial_id: int, folds_done: int, running_mean: float) -> bool:
        self.asked.append((trial_id, folds_done, running_mean))
        return running_mean < self.bar


def test_pruning_runs_a_first_fold_then_fans_out_survivors_and_cancels_the_pruned(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, space=GRID4, cv=3)
    pruner = ThresholdPruner(h.core.strategy, bar=0.5)
    h.core.strategy, h.core.dispatch.prune_gate = pruner, 1  # type: ignore[assignment]
    node = h.node("n1", slots=2)
    node.hello()
    h.tick()
    first = node.tasks()
    assert [(t.trial_id, t.folds) for t in first] == [(0, (1,)), (1, (1,))]
    node.finish_folds(first[0], {1: 0.9})  # trial 0 survives: its folds 2, 3 come next
    h.tick()
    assert sorted((t.trial_id, t.folds) for t in node.tasks()) == [(0, (2,)), (1, (1,))]
    node.progress(first[1], 1, 0.2)  # trial 1 is below the bar after its first fold
    h.tick()
    (pruned,) = h.of(ev.TrialPruned)
    assert pruned.trial_id == 1 and pruned.folds_done == 1 and pruned.cancelled == 1
    assert [c.lease_id for c in node.received(p.Cancel)] == [first[1].lease_id]
    trial = h.trial(1)
    assert trial.status == "pruned" and trial.score is None and trial.fold_scores == [0.2]
    assert h.core.ledger.best is h.trial(0) or h.core.ledger.best is None
    assert pruner.asked[0] == (0, 1, 0.9)


def test_a_pruned_trial_is_never_the_one_exported(tmp_path: Path) -> None:
    from console.searchfile.toml_io import load_search, save_search
    from console.store.export import best_trial

    h = Harness.for_search(tmp_path, space=GRID4, cv=3)
    rows = [
        TrialRecord(0, {"seconds": 0.0}, "ok", 0.8, 0.0, (0.8, 0.8, 0.8)).to_row(),
        # A pruned trial whose first fold looked better than anything: partial, never the best.
        TrialRecord(1, {"seconds": 0.1}, "pruned", 0.99, None, (0.99,)).to_row(),
    ]
    state = SavedState("finished", h.core.search_hash, "2026-12-02T00:00:00+00:00", rows)
    checkpoint = tmp_path / "ck.toml"
    save_search(checkpoint, h.core.spec, state)
    loaded = load_search(checkpoint)
    assert [t["status"] for t in loaded.state.trials] == ["ok", "pruned"]  # type: ignore[union-attr]
    assert best_trial(loaded)["id"] == 0  # type: ignore[index]


def test_every_metric_is_kept_per_fold_across_units_and_lost_units(tmp_path: Path) -> None:
    h = Harness.for_search(
        tmp_path, space=ONE, cv=2, extra_search='metrics = ["accuracy", "balanced_accuracy"]'
    )
    first = h.node("first")
    first.hello()
    h.tick()
    (task,) = first.tasks()
    first.send(
        p.Progress(
            "first", 0, task.lease_id, 1, 2, 0.7, {"accuracy": 0.7, "balanced_accuracy": 0.6}
        )
    )
    h.tick(10 * HB)  # first is lost after one fold: its fold 1 (every metric of it) is kept
    second = h.node("second")
    second.hello()
    h.tick()
    (rest,) = second.tasks()
    assert rest.folds == (2,)
    second.send(
        p.Result(
            "second", 0, rest.lease_id, rest.attempt, rest.search, rest.params, p.STATUS_OK,
            0.9, 0.0, (0.9,), 0.1, None, (2,),
            {"accuracy": [0.9], "balanced_accuracy": [0.8]},
        )
    )  # fmt: skip
    h.tick()
    trial = h.trial(0)
    assert trial.status == "ok" and trial.fold_scores == [0.7, 0.9]
    assert trial.scores == {"accuracy": [0.7, 0.9], "balanced_accuracy": [0.6, 0.8]}
    saved = TrialRecord.from_row(trial.record().to_row())
    assert saved.metric_means() == {"accuracy": 0.8, "balanced_accuracy": 0.7}
    assert Trial.from_record(saved).scores == trial.scores
