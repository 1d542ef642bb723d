"""Issue 10, point 1: blame the right party, never stall.

A timeout or crash that follows the parameters fails that trial and is no strike against the node;
a requeue the node caused (a lease deadline passed without a result) charges the node, not the
trial's retry budget; work that no node can take ends a headless search with exit 1 and a reason.
All through the real CLI (`python -m console FILE --headless`) with real node processes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, wait_until, write_search
from tests.system_tests.fault_helpers import (
    Consoles,
    HeadlessConsole,
    SilentWorker,
    append_to_search_table,
    rows_by_id,
)

pytestmark = pytest.mark.timeout(90)


def _quarantine_lines(console: HeadlessConsole) -> list[str]:
    text = console.output() + console.errors()
    return [line for line in text.splitlines() if "quarantine" in line.lower()]


def test_a_trial_longer_than_its_timeout_fails_and_does_not_quarantine_the_node(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """One 4 s trial under `trial_timeout_s = 2` on one node: the timeout follows the params, so
    the trial fails (saying why), the node is not quarantined, and since no trial scored the
    headless search exits 1 (instead of waiting forever or reporting success)."""
    search = write_search(
        tmp_path,
        space='seconds = { type = "choice", values = [4.0] }',
        cv=2,
        extra_search="trial_timeout_s = 2",
    )
    console = consoles.start(search)
    nodes.start(console.endpoint, "n1")
    code = console.wait(35, "the search with one too-slow trial to end")

    trial = rows_by_id(tmp_path / "runs" / "t.toml")[0]
    assert trial["status"] == "failed", trial
    error = str(trial.get("error", "")).lower()
    assert any(word in error for word in ("timeout", "timed out", "deadline")), trial
    assert _quarantine_lines(console) == [], (
        "a timeout that follows the params was held against the node:\n" + console.transcript()
    )
    assert code == 1, f"exit code {code} for a search where no trial scored\n{console.transcript()}"
    assert "no trial scored" in console.output() + console.errors(), console.transcript()


def test_a_trial_whose_process_crashes_fails_alone_and_no_node_is_quarantined(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """Two nodes, a grid of 4 trials of which one crashes its child process (sleep_classifier
    `crash = true`): that trial fails, the other 3 score, neither node is quarantined, exit 0.

    Trial 0 (two 3 s folds) keeps one node busy while the crashing trial 3 lands on the other,
    so every retry of the crash hits the same node: today that node is quarantined.
    """
    search = write_search(
        tmp_path,
        space=(
            'crash = { type = "choice", values = [false, true] }\n'
            'seconds = { type = "choice", values = [3.0, 0.1, 0.2] }'
        ),
        max_trials=4,  # the grid's first 4 points: (F, 3.0) (F, 0.1) (F, 0.2) (T, 3.0)
        cv=2,
    )
    console = consoles.start(search)
    nodes.start(console.endpoint, "n1")
    nodes.start(console.endpoint, "n2")
    code = console.wait(45, "the search with one crashing trial to end")

    rows = rows_by_id(tmp_path / "runs" / "t.toml")
    assert sorted(rows) == [0, 1, 2, 3], rows
    assert rows[3]["params"]["crash"] is True
    assert rows[3]["status"] == "failed", rows[3]
    assert [rows[i]["status"] for i in (0, 1, 2)] == ["ok", "ok", "ok"], rows
    assert _quarantine_lines(console) == [], (
        "a crash that follows the params was held against a node:\n" + console.transcript()
    )
    assert code == 0, f"exit code {code} although 3 trials scored\n{console.transcript()}"


def _assert_stalled(console: HeadlessConsole, limit_s: float) -> None:
    code = console.wait(limit_s + 15, "the stalled search to give up")
    took = (console.ended or time.monotonic()) - console.started
    text = console.output() + console.errors()
    stalled = [line for line in text.splitlines() if line.startswith("stalled:")]
    assert code == 1, f"exit code {code}, expected 1 (stalled)\n{console.transcript()}"
    assert stalled, f"no line starting with 'stalled:'\n{console.transcript()}"
    assert any("node" in line.lower() for line in stalled), stalled
    assert took < limit_s + 10, f"took {took:.1f}s to give up with a {limit_s}s grace period"


def test_a_search_no_node_can_take_says_stalled_and_exits_1(
    tmp_path: Path, consoles: Consoles
) -> None:
    """No node ever connects and `--stall-timeout 3`: the console says `stalled:` (no node can
    take the work) and exits 1 within seconds, instead of waiting forever."""
    search = write_search(tmp_path)
    console = consoles.start(search, "--stall-timeout", "3")
    _assert_stalled(console, 3.0)


def test_the_stall_grace_period_can_be_set_in_the_search_file(
    tmp_path: Path, consoles: Consoles
) -> None:
    """The same with `[cluster] stall_timeout_s = 3` in the search file instead of the flag."""
    search = write_search(tmp_path)
    append_to_search_table(search, "cluster", "stall_timeout_s = 3")
    console = consoles.start(search)
    _assert_stalled(console, 3.0)


def test_a_node_that_never_reports_is_quarantined_and_costs_the_trial_no_retries(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """A fake node heartbeats the lease it was given but never sends progress or a result.

    With `trial_timeout_s = 1` the console's lease deadline (timeout + 5 heartbeats) expires three
    times on trial 0 (`max_attempts = 3`): those requeues are the node's fault, so the fake node
    is quarantined (no fourth task) and trial 0 keeps its retry budget and scores on a real node.
    """
    search = write_search(
        tmp_path,
        space='seconds = { type = "choice", values = [0.1, 0.2, 0.3] }',
        cv=2,
        extra_search="trial_timeout_s = 1\nmax_attempts = 3",
    )
    console = consoles.start(search)
    hollow = SilentWorker(console.endpoint, "hollow")
    hollow.start()
    try:
        wait_until(
            lambda: (
                hollow.counts()[1] >= 3
                or any("hollow" in line for line in _quarantine_lines(console))
                or not console.running()
            ),
            25,
            "three of the silent node's leases taken back (or it quarantined)",
        )
        nodes.start(console.endpoint, "n1")
        code = console.wait(40, "the search to end once a real node joined")
        tasks, cancelled = hollow.counts()
    finally:
        hollow.stop()

    rows = rows_by_id(tmp_path / "runs" / "t.toml")
    assert rows[0]["status"] == "ok", (
        f"trial 0 lost 3 leases to a silent node and was not allowed to score: {rows[0]}"
    )
    assert {i: r["status"] for i, r in rows.items()} == {0: "ok", 1: "ok", 2: "ok"}, rows
    assert {r["node"] for r in rows.values()} == {"n1"}, rows
    assert code == 0, console.transcript()
    assert tasks == 3, (
        f"the silent node got {tasks} tasks ({cancelled} taken back); quarantine after 3 losses"
    )
    assert any("hollow" in line for line in _quarantine_lines(console)), console.transcript()
