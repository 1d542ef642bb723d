"""End-to-end searches: real scheduler, real node processes, real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from console.scheduler import events as ev
from console.searchfile.toml_io import load_search
from tests.conftest import NodeProcs, Recorder, run_to_end, start_search, wait_for, write_search

pytestmark = pytest.mark.timeout(120)


def test_two_nodes_thirty_trials_each_recorded_once_and_best_matches_sklearn(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        estimator="logistic_regression",
        strategy="random",
        max_trials=30,
        fixed="{ max_iter = 500 }",
        space='C = { type = "float", low = 0.001, high = 100.0, log = true }',
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    async def scenario() -> str:
        # Paused until both nodes are in: on a slow machine the first node to join could
        # otherwise run all thirty short trials before the second one connects.
        scheduler, task = await start_search(
            search, checkpoint, recorder, nodes, ("n1", "n2"), paused=True
        )
        await wait_for(lambda: len(recorder.of(ev.NodeJoined)) == 2, 30, "both nodes", task)
        scheduler.resume()
        return await asyncio.wait_for(task, 90)

    state = asyncio.run(scenario())
    assert state == "finished"
    assert recorder.scored_counts() == {i: 1 for i in range(30)}
    assert {e.node_id for e in recorder.of(ev.TrialScored)} == {"n1", "n2"}

    saved = load_search(checkpoint)
    trials = saved.state.trials
    assert sorted(t["id"] for t in trials) == list(range(30))
    assert all(t["status"] == "ok" and t["attempts"] == 1 for t in trials)

    X, y = load_iris(return_X_y=True)
    splitter = StratifiedKFold(3, shuffle=True, random_state=3)
    plain = [
        cross_val_score(
            LogisticRegression(C=t["params"]["C"], max_iter=500, random_state=3),
            X,
            y,
            cv=splitter,
            scoring="accuracy",
        ).mean()
        for t in trials
    ]
    best_row = max(trials, key=lambda t: t["score"])
    assert best_row["score"] == pytest.approx(max(plain), abs=1e-12)
    for row, expected in zip(trials, plain, strict=True):
        assert row["score"] == pytest.approx(expected, abs=1e-12)
    assert np.isfinite([t["score"] for t in trials]).all()


def test_estimator_error_fails_once_with_its_message_and_search_completes(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        estimator="logistic_regression",
        fixed="{ max_iter = 300 }",
        space='solver = { type = "choice", values = ["lbfgs", "no-such-solver", "newton-cg"] }',
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    state = run_to_end(search, checkpoint, recorder, nodes, ("n1",), slots=2, timeout=60)
    assert state == "finished"
    failures = recorder.of(ev.TrialFailed)
    assert [(f.trial_id, f.status, f.final) for f in failures] == [(1, "error", True)]
    assert "no-such-solver" in failures[0].error
    rows = {t["id"]: t for t in load_search(checkpoint).state.trials}
    assert rows[1]["status"] == "failed" and rows[1]["attempts"] == 1
    assert "no-such-solver" in rows[1]["error"]
    assert rows[0]["status"] == rows[2]["status"] == "ok"


def test_trial_over_deadline_is_killed_retried_then_failed(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        space='seconds = { type = "choice", values = [0.0, 30.0] }',
        extra_search="trial_timeout_s = 1.0\nmax_attempts = 2\n",
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    state = run_to_end(search, checkpoint, recorder, nodes, ("n1",), slots=2, timeout=60)
    assert state == "finished"
    timeouts = [(f.trial_id, f.status, f.final) for f in recorder.of(ev.TrialFailed)]
    assert timeouts == [(1, "timeout", False), (1, "timeout", True)]
    rows = {t["id"]: t for t in load_search(checkpoint).state.trials}
    assert rows[1]["status"] == "failed" and rows[1]["attempts"] == 2
    assert "deadline" in rows[1]["error"]
    assert rows[0]["status"] == "ok"


def test_pause_stops_dispatch_running_trials_finish_and_resume_completes(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        strategy="random",
        max_trials=8,
        space='seconds = { type = "float", low = 0.3, high = 0.5 }',
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    async def scenario() -> str:
        scheduler, task = await start_search(search, checkpoint, recorder, nodes, ("n1",), slots=2)
        # Running, not only dispatched: under load a node may reconnect before its first TASKs
        # arrive, and those go back to the queue.
        await wait_for(lambda: scheduler.ledger.running >= 2, 30, "two trials running", task)
        scheduler.pause()
        dispatched_at_pause = len(recorder.of(ev.TrialDispatched))
        running_at_pause = scheduler.ledger.running
        assert running_at_pause >= 1
        await wait_for(lambda: scheduler.ledger.running == 0, 30, "running trials finish", task)
        # Paused and idle for several heartbeats: still nothing dispatched.
        await asyncio.sleep(1.0)
        assert len(recorder.of(ev.TrialDispatched)) == dispatched_at_pause
        assert scheduler.ledger.done == dispatched_at_pause
        assert load_search(checkpoint).state.status == "paused"
        scheduler.resume()
        return await asyncio.wait_for(task, 60)

    assert asyncio.run(scenario()) == "finished"
    assert recorder.scored_counts() == {i: 1 for i in range(8)}


def test_crashing_estimator_is_retried_then_failed_and_the_node_survives(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        space='crash = { type = "choice", values = [true, false] }',
        extra_search="max_attempts = 2\n",
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()
    state = run_to_end(search, checkpoint, recorder, nodes, ("n1",), timeout=60)
    assert state == "finished"
    crashes = [(f.trial_id, f.status, f.final) for f in recorder.of(ev.TrialFailed)]
    assert crashes == [(0, "crash", False), (0, "crash", True)]
    assert "exit code 70" in recorder.of(ev.TrialFailed)[-1].error
    rows = {t["id"]: t for t in load_search(checkpoint).state.trials}
    assert rows[0]["status"] == "failed" and rows[0]["attempts"] == 2
    assert rows[1]["status"] == "ok" and rows[1]["node"] == "n1"  # same node, fresh child
