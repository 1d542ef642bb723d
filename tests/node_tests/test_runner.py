"""Tests for trial execution: run_trial in-process, and SlotProcess with real child processes."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from node.datasets import load_dataset
from node.estimators import build_estimator
from node.runner import SlotProcess, _describe_exit
from node.trial import MAX_ERROR_CHARS, run_trial

IRIS = {"source": "sklearn:iris", "target": None, "sha256": None}
DIABETES = {"source": "sklearn:diabetes", "target": None, "sha256": None}


def make_task(**overrides: Any) -> dict[str, Any]:
    task = {
        "trial_id": 1,
        "attempt": 1,
        "lease_id": "lease-1",
        "timeout_s": 60.0,
        "estimator": "svc",
        "params": {"C": 2.0, "gamma": "scale"},
        "cv": 5,
        "metric": "accuracy",
        "seed": 3,
        "dataset": IRIS,
    }
    task.update(overrides)
    return task


def sleeper(**params: Any) -> dict[str, Any]:
    return make_task(estimator="sleep_classifier", params=params)


def wait_for_result(slot: SlotProcess, timeout_s: float = 30.0) -> list[tuple[str, dict]]:
    """Every event up to and including the result, polling the slot the way the supervisor does."""
    poller = zmq.Poller()
    poller.register(slot, zmq.POLLIN)  # the object, so a restarted child's new fd is picked up
    events: list[tuple[str, dict]] = []
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        poller.poll(remaining * 1000)
        for event in slot.poll_events():
            events.append(event)
            if event[0] == "result":
                return events
    raise AssertionError(f"no result within {timeout_s} s; events so far: {events}")


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.01)


def process_gone(pid: int) -> bool:
    """True once the process has exited (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture
def slot() -> Iterator[SlotProcess]:
    with SlotProcess(0) as slot:
        yield slot


# -- run_trial, in process ------------------------------------------------------------------


def test_svc_on_iris_matches_cross_val_score() -> None:
    task = make_task()
    result = run_trial(task)
    assert result["status"] == "ok", result["error"]
    X, y = load_dataset(IRIS)
    expected = cross_val_score(
        build_estimator("svc", task["params"], seed=3),
        X,
        y,
        cv=StratifiedKFold(5, shuffle=True, random_state=3),
        scoring="accuracy",
    )
    np.testing.assert_allclose(result["fold_scores"], expected, rtol=0, atol=1e-12)
    assert result["mean"] == pytest.approx(expected.mean(), abs=1e-12)
    assert result["std"] == pytest.approx(expected.std(), abs=1e-12)
    assert result["error"] is None
    assert result["fit_time_s"] > 0


def test_a_unit_of_folds_scores_exactly_those_folds_of_the_whole_trial() -> None:
    whole = run_trial(make_task())
    unit = run_trial({**make_task(), "folds": [4, 2]})
    assert unit["status"] == "ok", unit["error"]
    assert unit["folds"] == [2, 4]  # in the splitter's order, whatever order was asked
    assert unit["fold_scores"] == [whole["fold_scores"][1], whole["fold_scores"][3]]
    assert whole["folds"] == [1, 2, 3, 4, 5]


def test_regressor_on_diabetes_with_r2_matches_cross_val_score() -> None:
    task = make_task(estimator="random_forest_regressor", params={"n_estimators": 10},
                     metric="r2", cv=3, seed=11, dataset=DIABETES)  # fmt: skip
    result = run_trial(task)
    assert result["status"] == "ok", result["error"]
    X, y = load_dataset(DIABETES)
    expected = cross_val_score(
        build_estimator("random_forest_regressor", {"n_estimators": 10}, seed=11),
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=11),
        scoring="r2",
    )
    np.testing.assert_allclose(result["fold_scores"], expected, rtol=0, atol=1e-12)
    assert result["mean"] == pytest.approx(expected.mean(), abs=1e-12)


def test_on_fold_is_called_once_per_fold_in_order() -> None:
    calls: list[tuple[int, int, float, dict[str, float]]] = []
    result = run_trial(make_task(cv=4), lambda *call: calls.append(call))
    assert [(fold, folds) for fold, folds, _, _ in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [score for _, _, score, _ in calls] == result["fold_scores"]
    assert all(scores == {} for *_, scores in calls)  # one metric: nothing more to say


def test_invalid_param_is_an_error_result() -> None:
    result = run_trial(make_task(params={"C": 1.0, "gama": 0.1}))
    assert result["status"] == "error"
    assert result["error"].startswith("ValueError: ")
    assert "'gama'" in result["error"]
    assert result["mean"] is None
    assert result["std"] is None
    assert result["fold_scores"] == []
    assert isinstance(result["fit_time_s"], float)


def test_estimator_exception_is_an_error_result() -> None:
    result = run_trial(sleeper(fail=True))
    assert result["status"] == "error"
    assert result["error"] == "ValueError: sleep_classifier asked to fail"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({"metric": "accuracyy"}, "accuracyy"), ({"estimator": "xgboost"}, "xgboost"),
     ({"dataset": {"source": "sklearn:nope"}}, "sklearn:nope")],
)  # fmt: skip
def test_bad_task_fields_are_error_results(overrides: dict, expected: str) -> None:
    result = run_trial(make_task(**overrides))
    assert result["status"] == "error"
    assert expected in result["error"]


def test_error_message_is_truncated() -> None:
    result = run_trial(make_task(params={"x" * 3000: 1}))
    assert result["status"] == "error"
    assert len(result["error"]) == MAX_ERROR_CHARS


def test_non_finite_score_is_an_error(tmp_path: Path) -> None:
    # One sample per test fold: r2 is undefined (nan) there.
    path = tmp_path / "tiny.csv"
    path.write_text("x,target\n1,1.5\n2,2.5\n3,3.0\n4,5.0\n")
    dataset = {"source": f"file:{path}", "target": None, "sha256": None}
    task = make_task(estimator="dummy_regressor", params={}, metric="r2", cv=4, dataset=dataset)
    with pytest.warns(UserWarning):  # sklearn's UndefinedMetricWarning
        result = run_trial(task)
    assert result["status"] == "error"
    assert "nan" in result["error"]
    assert "non-finite" in result["error"]
    assert result["mean"] is None


def test_noop_loads_nothing() -> None:
    result = run_trial(make_task(estimator="noop", dataset={"source": "nowhere:at-all"}))
    assert result["status"] == "ok"
    assert result["mean"] == 0.0
    assert result["std"] == 0.0
    assert result["fold_scores"] == [0.0] * 5  # one (empty) score per fold it was given
    assert result["error"] is None


def test_importing_runner_pulls_in_neither_textual_nor_sklearn() -> None:
    code = (
        "import sys, node.runner; "
        "assert 'textual' not in sys.modules; assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_describe_exit() -> None:
    assert _describe_exit(70) == "exit code 70"
    assert _describe_exit(-signal.SIGSEGV) == "killed by signal SIGSEGV"
    assert _describe_exit(None) == "exit status unknown"


# -- SlotProcess, with real child processes ---------------------------------------------------


def test_trial_end_to_end_progress_then_result(slot: SlotProcess) -> None:
    task = make_task()
    slot.start(task)
    assert slot.busy
    assert slot.task is task
    assert slot.started_at <= time.monotonic()
    events = wait_for_result(slot)
    kinds = [kind for kind, _ in events]
    assert kinds == ["progress"] * 5 + ["result"]
    assert [body["fold"] for _, body in events[:-1]] == [1, 2, 3, 4, 5]
    assert all(body["folds"] == 5 for _, body in events[:-1])
    result = events[-1][1]
    assert result["status"] == "ok", result["error"]
    assert result["fold_scores"] == [body["score"] for _, body in events[:-1]]
    expected = run_trial(task)
    np.testing.assert_allclose(result["fold_scores"], expected["fold_scores"], atol=1e-12)
    assert not slot.busy
    assert slot.task is None


def test_slot_runs_trials_one_after_another(slot: SlotProcess) -> None:
    pid = slot.pid
    for trial_id in range(3):
        slot.start(make_task(trial_id=trial_id, estimator="noop"))
        assert wait_for_result(slot)[-1][1]["status"] == "ok"
    assert slot.pid == pid  # one long-lived child


def test_start_while_busy_and_kill_while_idle_raise(slot: SlotProcess) -> None:
    with pytest.raises(RuntimeError, match="no running trial"):
        slot.kill("cancelled", "nothing to cancel")
    slot.start(sleeper(seconds=60))
    with pytest.raises(RuntimeError, match="busy"):
        slot.start(make_task())
    slot.kill("cancelled", "test over")


def test_crashing_estimator_reports_crash_and_slot_recovers(slot: SlotProcess) -> None:
    old_pid = slot.pid
    slot.start(sleeper(crash=True))
    body = wait_for_result(slot)[-1][1]
    assert body["status"] == "crash"
    assert body["error"] == "trial process died (exit code 70)"
    assert body["mean"] is None
    assert body["fold_scores"] == []
    assert not slot.busy
    assert slot.pid != old_pid
    wait_until(lambda: process_gone(old_pid))
    slot.start(make_task())
    assert wait_for_result(slot)[-1][1]["status"] == "ok"


def test_child_killed_by_a_signal_mid_trial(slot: SlotProcess) -> None:
    slot.start(sleeper(seconds=60))
    os.kill(slot.pid, signal.SIGKILL)
    body = wait_for_result(slot)[-1][1]
    assert body["status"] == "crash"
    assert body["error"] == "trial process died (killed by signal SIGKILL)"
    slot.start(make_task(estimator="noop"))
    assert wait_for_result(slot)[-1][1]["status"] == "ok"


def test_kill_on_deadline_is_quick_and_slot_recovers(slot: SlotProcess) -> None:
    slot.start(sleeper(seconds=60))
    old_pid = slot.pid
    began = time.monotonic()
    body = slot.kill("timeout", "deadline of 0.1 s passed")
    assert time.monotonic() - began < 30  # i.e. did not wait for the 60 s fit
    assert body["status"] == "timeout"
    assert body["error"] == "deadline of 0.1 s passed"
    assert body["mean"] is None
    assert not slot.busy
    wait_until(lambda: process_gone(old_pid))
    slot.start(make_task())
    assert wait_for_result(slot)[-1][1]["status"] == "ok"


def test_cancel_keeps_the_folds_so_far(slot: SlotProcess) -> None:
    slot.start(make_task(estimator="sleep_classifier", params={"seconds": 0.2}, cv=5))
    poller = zmq.Poller()
    poller.register(slot, zmq.POLLIN)
    seen: list[float] = []
    deadline = time.monotonic() + 20
    while not seen and time.monotonic() < deadline:
        poller.poll(100)
        seen += [body["score"] for kind, body in slot.poll_events() if kind == "progress"]
    assert seen, "no progress before the deadline"
    body = slot.kill("cancelled", "console asked")
    assert body["status"] == "cancelled"
    assert body["error"] == "console asked"
    assert body["fold_scores"][: len(seen)] == seen
    assert len(body["fold_scores"]) < 5


def test_child_dying_while_idle_is_restarted_silently(slot: SlotProcess) -> None:
    old_pid = slot.pid
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: slot.poll_events() == [] and slot.pid != old_pid)
    assert not slot.busy
    slot.start(make_task(estimator="noop"))
    assert wait_for_result(slot)[-1][1]["status"] == "ok"


def test_child_ignores_sigint(slot: SlotProcess) -> None:
    slot.start(make_task(estimator="noop"))  # the child is up and has set its handlers
    wait_for_result(slot)
    pid = slot.pid
    os.kill(pid, signal.SIGINT)
    slot.start(make_task())
    assert wait_for_result(slot)[-1][1]["status"] == "ok"
    assert slot.pid == pid


def test_child_runs_single_threaded(slot: SlotProcess) -> None:
    # HistGradientBoosting uses OpenMP, SVC-free numpy work uses BLAS: neither may add threads.
    slot.start(make_task(estimator="hist_gradient_boosting", params={"max_iter": 5}, cv=2))
    assert wait_for_result(slot)[-1][1]["status"] == "ok"
    threads = os.listdir(f"/proc/{slot.pid}/task")
    assert len(threads) <= 2  # the main thread and the parent watcher


def test_close_leaves_no_child_alive(slot: SlotProcess) -> None:
    slot.start(sleeper(seconds=60))
    pid = slot.pid
    slot.close()
    wait_until(lambda: process_gone(pid))
    slot.close()  # idempotent
    assert not slot.busy
    assert slot.poll_events() == []
    with pytest.raises(RuntimeError, match="closed"):
        slot.start(make_task())


PARENT_SCRIPT = """
import sys, zmq
from node.runner import SlotProcess
slot = SlotProcess(0)
poller = zmq.Poller()
poller.register(slot, zmq.POLLIN)
slot.start({noop!r})
while slot.busy:  # a first trial proves the child is up
    poller.poll(1000)
    slot.poll_events()
slot.start({long_task!r})
print(slot.pid, flush=True)
sys.stdin.read()  # parked until the test kills us
"""


def test_child_exits_when_its_parent_is_killed_mid_trial() -> None:
    # The child reads the 60 s task even if the parent is already gone (the pipe keeps what was
    # sent), so only its parent watcher can make it exit within the wait below.
    script = PARENT_SCRIPT.format(noop=make_task(estimator="noop"), long_task=sleeper(seconds=60))
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, "the parent script never reported its child"
        child_pid = int(parent.stdout.readline())
        assert not process_gone(child_pid)
        parent.kill()
        parent.wait(timeout=10)
        wait_until(lambda: process_gone(child_pid), timeout_s=20)
    finally:
        parent.kill()
        parent.wait(timeout=10)
        parent.stdin.close()
        parent.stdout.close()
