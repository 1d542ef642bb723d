"""Issue 10, point 2: a console restart keeps in-flight work.

The console is SIGKILLed after both trials of the first wave were dispatched and before any
result; the nodes finish them while it is down; the restarted console must record (or adopt) what
they finished instead of running it again. Executions are counted from the nodes' own logs.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, wait_until, write_search
from tests.system_tests.fault_helpers import (
    Consoles,
    joined,
    rows_by_id,
    started_executions,
)

pytestmark = pytest.mark.timeout(90)

FOLD_S = 2.0  # sleep_classifier sleeps this long in each fit
TRIAL_S = 2 * FOLD_S  # cv = 2: two fits per trial


def test_trials_finished_while_the_console_was_down_are_recorded_not_run_again(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """Two external nodes, two 4 s trials. Kill -9 the console once both were dispatched, let the
    nodes finish, start it again on the same checkpoint: both trials are recorded ok exactly once,
    each ran exactly once (one `trial N started` line in the node logs), and the restarted
    console ends within a trial's length of the nodes rejoining (a re-run would add 4 s)."""
    search = write_search(
        tmp_path,
        space=f'seconds = {{ type = "choice", values = [{FOLD_S}, {FOLD_S + 0.01}] }}',
        cv=2,
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    first = consoles.start(search, label="first")
    nodes.start(first.endpoint, "n1")
    nodes.start(first.endpoint, "n2")

    def executions() -> list[tuple[int, str]]:
        return started_executions(nodes.log("n1"), nodes.log("n2"))

    wait_until(
        lambda: len(executions()) >= 2,
        20,
        "both trials started on the nodes (each node logs 'trial ID started (lease LEASE)')",
    )
    dispatched_at = time.monotonic()
    first.signal(signal.SIGKILL)
    first.wait(10, "the killed console to be reaped")
    saved = rows_by_id(checkpoint) if checkpoint.exists() else {}
    recorded_before = {i for i, r in saved.items() if r["status"] == "ok"}
    assert recorded_before == set(), "killed too late: the first console recorded a result"

    # While the console is down the nodes give no outside sign of a finished trial: wait out the
    # trials' own length (from their logged start) with a margin.
    wait_until(
        lambda: time.monotonic() > dispatched_at + TRIAL_S + 1.0,
        TRIAL_S + 5,
        "the nodes to finish their trials with the console down",
    )
    second = consoles.start(checkpoint, label="second", endpoint=first.endpoint)
    second.wait_for_line(joined("n1"), 30, "n1 back with the restarted console")
    second.wait_for_line(joined("n2"), 30, "n2 back with the restarted console")
    rejoined_at = time.monotonic()
    code = second.wait(30, "the restarted console to finish")
    finished_after = (second.ended or time.monotonic()) - rejoined_at

    assert Counter(trial for trial, _ in executions()) == {0: 1, 1: 1}, (
        f"trials ran more than once: {executions()}\n{second.transcript()}"
    )
    rows = rows_by_id(checkpoint)
    assert {i: r["status"] for i, r in rows.items()} == {0: "ok", 1: "ok"}, rows
    assert {r["node"] for r in rows.values()} == {"n1", "n2"}, rows
    assert code == 0, second.transcript()
    assert finished_after < TRIAL_S, (
        f"the restarted console took {finished_after:.1f}s after the nodes rejoined: "
        f"as long as running a trial again\n{second.transcript()}"
    )
