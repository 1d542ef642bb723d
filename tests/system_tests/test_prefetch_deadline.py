"""A prefetched task waits on its node before it starts; the console's lease deadline allows for
that wait instead of revoking a trial that is well within its own timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.scheduler import events as ev
from tests.conftest import NodeProcs, Recorder, make_scheduler, wait_for, write_search

pytestmark = pytest.mark.timeout(60)


def test_a_prefetched_trial_is_not_revoked_while_it_waits_for_a_slot(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    # Each trial takes 2 x 1.2 s (two folds) of a 3 s timeout; the second one waits ~2.4 s for
    # the node's only slot, so it ends ~5 s after dispatch: past a deadline counted from dispatch
    # (3 s + 5 heartbeats of 0.2 s), within the trial's own timeout once it started.
    search = write_search(
        tmp_path,
        space='seconds = { type = "choice", values = [1.2, 1.21] }',
        cv=2,
        extra_search="trial_timeout_s = 3.0\nmax_attempts = 1\n",
    )
    recorder = Recorder()

    async def scenario() -> str:
        scheduler = make_scheduler(search, tmp_path / "ckpt.toml", recorder)
        task = asyncio.create_task(scheduler.run())
        await wait_for(scheduler.ready.is_set, 10, "scheduler bound", task)
        nodes.start(scheduler.endpoint, "n1", slots=1, prefetch=1)
        return await asyncio.wait_for(task, 30)

    assert asyncio.run(scenario()) == "finished"
    assert recorder.scored_counts() == {0: 1, 1: 1}
    assert not recorder.of(ev.TrialFailed)
    assert not recorder.of(ev.TrialRequeued)
    dispatched = recorder.of(ev.TrialDispatched)
    assert len(dispatched) == 2
    assert dispatched[1].at - dispatched[0].at < 1.0  # the second was indeed prefetched
