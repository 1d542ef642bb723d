"""When a search finishes, the console tells its nodes (DONE): they stop warning about it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from console.scheduler import events as ev
from tests.conftest import (
    HEARTBEAT_S,
    REPO,
    Recorder,
    make_scheduler,
    wait_for,
    wait_until,
    write_search,
)

pytestmark = pytest.mark.timeout(90)


def _node(endpoint: str, node_id: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "node", "--connect", endpoint, "--node-id", node_id,
             "--slots", "1", "--heartbeat", str(HEARTBEAT_S), *extra],
            stdout=out, stderr=out, cwd=REPO,
        )  # fmt: skip


def test_nodes_hear_the_search_is_over_and_wait_quietly_or_exit(tmp_path: Path) -> None:
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [0.0, 0.01] }')
    recorder = Recorder()
    quiet_log, leaving_log = tmp_path / "quiet.log", tmp_path / "leaving.log"

    async def scenario() -> subprocess.Popen[bytes]:
        scheduler = make_scheduler(search, tmp_path / "runs" / "t.toml", recorder)
        scheduler.state = "paused"  # until both nodes are in: each must hear the search end
        task = asyncio.create_task(scheduler.run())
        await wait_for(scheduler.ready.is_set, 10, "scheduler bound", task)
        quiet = _node(scheduler.endpoint, "quiet", quiet_log, "--log-level", "DEBUG")
        leaving = _node(scheduler.endpoint, "leaving", leaving_log, "--exit-when-done")
        try:
            await wait_for(lambda: len(recorder.of(ev.NodeJoined)) >= 2, 30, "both nodes", task)
            scheduler.resume()
            assert await asyncio.wait_for(task, 60) == "finished"
            code = await asyncio.to_thread(leaving.wait, 20)
            assert code == 0, leaving_log.read_text()
        finally:
            leaving.kill()
        return quiet

    quiet = asyncio.run(scenario())
    over = "the search is over (search finished); waiting quietly for the next console"
    try:
        # The console is gone: the quiet node keeps trying (logged at DEBUG), never warning.
        wait_until(lambda: over in quiet_log.read_text(), 10, "the quiet node hears DONE")
        wait_until(
            lambda: "reconnecting in" in quiet_log.read_text().split(over, 1)[1],
            20,
            "a quiet reconnect attempt",
        )
    finally:
        quiet.terminate()
        quiet.wait(10)
    after = quiet_log.read_text().split(over, 1)[1]
    assert " WARNING " not in after, after
    assert "the search is over (search finished); exiting" in leaving_log.read_text()


def test_a_node_without_its_console_warns_three_times_then_once_a_minute(tmp_path: Path) -> None:
    """The README's promise: a node whose console is down says so three times, then at most
    once a minute (each later attempt is logged at DEBUG), rather than flooding its log."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    log = tmp_path / "alone.log"
    alone = _node(endpoint, "alone", log, "--log-level", "DEBUG", "--heartbeat", "0.05")
    try:
        wait_until(
            lambda: log.read_text().count("reconnecting in") >= 6, 45, "six reconnect attempts"
        )
    finally:
        alone.terminate()
        alone.wait(10)
    attempts = [line for line in log.read_text().splitlines() if "reconnecting in" in line]
    levels = [line.split()[2] for line in attempts]
    assert levels[:3] == ["WARNING"] * 3, attempts
    assert set(levels[3:]) == {"DEBUG"}, attempts  # all within the first minute
    assert "did not answer (is it running? right address?)" in attempts[0]
