"""Fault tests: real node processes killed, stopped and terminated mid-trial."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from console.scheduler import events as ev
from console.scheduler.ledger import RUNNING
from console.searchfile.toml_io import load_search
from tests.conftest import (
    HEARTBEAT_S,
    NodeProcs,
    Recorder,
    make_scheduler,
    wait_for,
    write_search,
)

pytestmark = pytest.mark.timeout(120)

# Six trials of 1.5 s each on two one-slot nodes: long enough to hit a node mid-trial.
CV = 2
SLOW_SPACE = 'seconds = { type = "choice", values = [1.5, 1.51, 1.52, 1.53, 1.54, 1.55] }'


def _final_rows(checkpoint: Path) -> dict[int, dict]:
    return {t["id"]: t for t in load_search(checkpoint).state.trials}


async def _start(tmp_path: Path, nodes: NodeProcs, recorder: Recorder):
    search = write_search(tmp_path, space=SLOW_SPACE, cv=CV)
    checkpoint = tmp_path / "runs" / "t.toml"
    scheduler = make_scheduler(search, checkpoint, recorder)
    task = asyncio.create_task(scheduler.run())
    await wait_for(scheduler.ready.is_set, 10, "scheduler bound")
    nodes.start(scheduler.endpoint, "victim")
    await wait_for(
        lambda: any(e.node_id == "victim" for e in recorder.of(ev.TrialDispatched)),
        30,
        "a trial dispatched to the victim",
        task,
    )
    nodes.start(scheduler.endpoint, "survivor")
    await wait_for(lambda: len(recorder.of(ev.NodeJoined)) == 2, 30, "survivor joined", task)
    # The trial the victim is running right now: on a slow machine the survivor may take longer
    # to start than the victim's first trial, so "its first trial" could be finished already.
    await wait_for(lambda: _running_on(scheduler, "victim"), 10, "victim mid-trial", task)
    return scheduler, task, checkpoint, _running_on(scheduler, "victim")[0]


def _running_on(scheduler, node_id: str) -> list[int]:
    return [
        t.id for t in scheduler.ledger.trials.values() if t.status == RUNNING and t.node == node_id
    ]


def test_sigkill_node_mid_trial_requeues_it_to_the_other_node(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    recorder = Recorder()

    async def scenario():
        _scheduler, task, checkpoint, victim_trial = await _start(tmp_path, nodes, recorder)
        nodes.signal("victim", signal.SIGKILL)
        killed_at = time.monotonic()
        await wait_for(
            lambda: any(e.trial_id == victim_trial for e in recorder.of(ev.TrialRequeued)),
            10,
            "the victim's trial requeued",
            task,
        )
        requeue_delay = time.monotonic() - killed_at
        assert await asyncio.wait_for(task, 60) == "finished"
        return checkpoint, victim_trial, requeue_delay

    checkpoint, victim_trial, requeue_delay = asyncio.run(scenario())
    # Dead after 3 silent heartbeats; allow a few more for scheduling noise on a busy machine.
    assert requeue_delay < 8 * HEARTBEAT_S + 1.0
    rows = _final_rows(checkpoint)
    assert all(row["status"] == "ok" for row in rows.values())
    assert rows[victim_trial]["attempts"] == 2
    # Folds the victim reported before it stopped count (each was journaled as it arrived); the
    # survivor ran the rest. Only if the victim had reported every fold is the trial its own.
    assert rows[victim_trial]["node"] in ("survivor", "victim")
    assert len(rows[victim_trial]["fold_scores"]) == CV, rows[victim_trial]
    assert recorder.scored_counts() == {i: 1 for i in range(6)}


def test_sigstop_then_sigcont_counts_nothing_twice(tmp_path: Path, nodes: NodeProcs) -> None:
    recorder = Recorder()

    async def scenario():
        _scheduler, task, checkpoint, _victim_trial = await _start(tmp_path, nodes, recorder)
        nodes.signal("victim", signal.SIGSTOP)
        await wait_for(
            lambda: any(e.node_id == "victim" for e in recorder.of(ev.NodeLost)),
            10,
            "the stopped node declared lost",
            task,
        )
        nodes.signal("victim", signal.SIGCONT)
        assert await asyncio.wait_for(task, 60) == "finished"
        return checkpoint

    checkpoint = asyncio.run(scenario())
    # The node came back after SIGCONT and was taken back, under the same name.
    assert any(e.node_id == "victim" and e.rejoined for e in recorder.of(ev.NodeJoined))
    rows = _final_rows(checkpoint)
    assert sorted(rows) == list(range(6))
    assert all(row["status"] == "ok" for row in rows.values())
    assert recorder.scored_counts() == {i: 1 for i in range(6)}


def test_sigterm_mid_trial_hands_it_back_at_once_and_exits_zero(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    recorder = Recorder()

    async def scenario():
        _scheduler, task, checkpoint, victim_trial = await _start(tmp_path, nodes, recorder)
        nodes.signal("victim", signal.SIGTERM)
        await wait_for(
            lambda: any(e.node_id == "victim" for e in recorder.of(ev.NodeLost)),
            10,
            "the node's BYE",
            task,
        )
        lost = next(e for e in recorder.of(ev.NodeLost) if e.node_id == "victim")
        assert await asyncio.wait_for(task, 60) == "finished"
        return checkpoint, victim_trial, lost

    checkpoint, victim_trial, lost = asyncio.run(scenario())
    # Requeued by the BYE itself, not by liveness expiry.
    assert lost.reason == "bye"
    assert victim_trial in lost.requeued
    assert nodes.wait("victim") == 0
    rows = _final_rows(checkpoint)
    assert all(row["status"] == "ok" for row in rows.values())
    assert rows[victim_trial]["node"] == "survivor"
    assert recorder.scored_counts() == {i: 1 for i in range(6)}
