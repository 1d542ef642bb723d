"""Nodes outlive consoles: they wait for one to appear and carry results across a restart."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.searchfile.toml_io import load_search
from tests.conftest import NodeProcs, Recorder, make_scheduler, wait_for, write_search

pytestmark = pytest.mark.timeout(120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _scheduler(search: Path, checkpoint: Path, recorder: Recorder, port: int) -> Scheduler:
    return make_scheduler(search, checkpoint, recorder, bind=f"tcp://127.0.0.1:{port}")


def test_node_started_before_the_console_joins_when_it_appears(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    port = _free_port()
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [0.0, 0.01] }')
    nodes.start(f"tcp://127.0.0.1:{port}", "early")
    recorder = Recorder()

    async def scenario() -> str:
        # Let the node give up on the missing console at least once before it appears.
        await wait_for(lambda: "reconnecting" in nodes.log("early"), 20, "the node backs off")
        scheduler = _scheduler(search, tmp_path / "runs" / "t.toml", recorder, port)
        return await asyncio.wait_for(scheduler.run(), 60)

    assert asyncio.run(scenario()) == "finished"
    assert {e.node_id for e in recorder.of(ev.TrialScored)} == {"early"}


def test_results_finished_while_the_console_was_down_are_kept_not_rerun(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    port = _free_port()
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [1.5, 1.6] }')
    checkpoint = tmp_path / "runs" / "t.toml"
    first, second = Recorder(), Recorder()

    async def scenario() -> str:
        scheduler = _scheduler(search, checkpoint, first, port)
        task = asyncio.create_task(scheduler.run())
        await wait_for(scheduler.ready.is_set, 10, "first console bound", task)
        nodes.start(scheduler.endpoint, "keeper", slots=2)
        await wait_for(lambda: scheduler.ledger.running == 2, 30, "both trials running", task)
        task.cancel()  # the console vanishes without a word to its nodes
        with pytest.raises(asyncio.CancelledError):
            await task
        assert load_search(checkpoint).state.trials[0]["status"] == "pending"
        restarted = _scheduler(search, checkpoint, second, port)
        return await asyncio.wait_for(restarted.run(), 60)

    assert asyncio.run(scenario()) == "finished"
    # The node finished both trials for the first console; the second adopted them (or took
    # their results) and never dispatched anything anew.
    assert all(e.adopted for e in second.of(ev.TrialDispatched))
    assert second.scored_counts() == {0: 1, 1: 1}
    rows = load_search(checkpoint).state.trials
    assert [(t["status"], t["attempts"], t["node"]) for t in rows] == [("ok", 1, "keeper")] * 2
