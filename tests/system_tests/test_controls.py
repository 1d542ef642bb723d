"""Console controls with real nodes: drain a node, retry failed trials, stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.scheduler import events as ev
from console.searchfile.toml_io import load_search
from tests.conftest import (
    NodeProcs,
    Recorder,
    run_to_end,
    start_search,
    wait_for,
    wait_until,
    write_search,
)

pytestmark = pytest.mark.timeout(120)


def test_drained_node_finishes_its_trial_and_takes_no_more(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        strategy="random",
        max_trials=8,
        space='seconds = { type = "float", low = 0.3, high = 0.4 }',
    )
    recorder = Recorder()

    async def scenario() -> str:
        scheduler, task = await start_search(
            search, tmp_path / "runs" / "t.toml", recorder, nodes, ("drained",)
        )
        await wait_for(
            lambda: scheduler.core.leases.count("drained") > 0,
            30,
            "first task",
            task,
        )
        assert scheduler.drain("drained")
        assert scheduler.snapshot().nodes[0].state == "draining"
        dispatched = len(recorder.of(ev.TrialDispatched))
        await wait_for(
            lambda: scheduler.snapshot().nodes[0].state == "drained",
            10,
            "the drained node's trial finished",
            task,
        )
        nodes.start(scheduler.endpoint, "fresh")
        state = await asyncio.wait_for(task, 60)
        late = recorder.of(ev.TrialDispatched)[dispatched:]
        assert late and all(e.node_id == "fresh" for e in late)
        return state

    assert asyncio.run(scenario()) == "finished"
    assert recorder.scored_counts() == {i: 1 for i in range(8)}


def test_retry_failed_runs_failed_trials_again(tmp_path: Path, nodes: NodeProcs) -> None:
    search = write_search(tmp_path, space='fail = { type = "choice", values = [false, true] }')
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    async def scenario() -> None:
        scheduler, task = await start_search(
            search, checkpoint, recorder, nodes, ("n1",), exit_when_done=False
        )
        await wait_for(lambda: scheduler.state == "finished", 30, "first pass", task)
        assert scheduler.retry_failed() == 1
        assert scheduler.state == "running"
        await wait_for(lambda: len(recorder.of(ev.TrialFailed)) == 2, 30, "the retry", task)
        await wait_for(lambda: scheduler.state == "finished", 10, "second pass", task)
        scheduler.stop()
        assert await asyncio.wait_for(task, 10) == "finished"  # stopping keeps it finished

    asyncio.run(scenario())
    failed = recorder.of(ev.TrialFailed)
    assert [(f.trial_id, f.status, f.final) for f in failed] == [(1, "error", True)] * 2
    assert "asked to fail" in failed[1].error
    rows = {t["id"]: t for t in load_search(checkpoint).state.trials}
    assert rows[1]["attempts"] == 2 and rows[1]["status"] == "failed"
    assert rows[0]["attempts"] == 1 and rows[0]["status"] == "ok"


def test_stop_cancels_running_trials_and_saves_them_as_pending(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [30.0, 31.0] }')
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    async def scenario() -> str:
        scheduler, task = await start_search(search, checkpoint, recorder, nodes, ("n1",), slots=2)
        await wait_for(lambda: scheduler.ledger.running == 2, 30, "both trials running", task)
        scheduler.stop()
        return await asyncio.wait_for(task, 10)

    assert asyncio.run(scenario()) == "stopped"
    state = load_search(checkpoint).state
    assert state.status == "stopped"
    assert [(t["status"], t["attempts"]) for t in state.trials] == [("pending", 1)] * 2
    # The node really stopped both (the trials would otherwise run for 30 s).
    wait_until(
        lambda: nodes.log("n1").count("cancelled (search stopped)") == 2,
        10,
        "the node cancels both trials",
    )


def test_a_trial_that_crashes_every_time_fails_and_the_node_is_not_blamed(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    """A crash that follows the parameters is the trial's: it fails after max_attempts, the
    node is not quarantined, and the search goes on and finishes."""
    search = write_search(
        tmp_path,
        space='crash = { type = "choice", values = [true, false] }',
        extra_search="max_attempts = 4\n",
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()
    assert run_to_end(search, checkpoint, recorder, nodes, ("n1",)) == "finished"
    assert not recorder.of(ev.NodeQuarantined)
    rows = {t["id"]: t for t in load_search(checkpoint).state.trials}
    assert rows[0]["status"] == "failed" and rows[0]["attempts"] == 4
    assert "follows the parameters" in rows[0]["error"]
    assert rows[1]["status"] == "ok" and rows[1]["node"] == "n1"
