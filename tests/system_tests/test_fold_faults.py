"""Fold-level units under real faults: every fold of a trial runs to a recorded score exactly
once across a node SIGKILL mid-fold, a console SIGKILL with folds in flight, and a node stopped
(SIGSTOP) past its liveness whose late results come back after SIGCONT.

One trial with more idle slots than trials is the tail of a search: its folds go out as single
units. Executions are counted from the nodes' own `trial T started (lease L) ..., folds F` lines.
"""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, wait_until, write_search
from tests.system_tests.fault_helpers import Consoles, HeadlessConsole, joined, rows_by_id

pytestmark = pytest.mark.timeout(120)

FOLD_S = 1.5  # sleep_classifier sleeps this long in each fit
UNIT_LINE = re.compile(r"trial (\d+) started \(lease [^)\s]+\), attempt \d+, folds ([\d,]+|all)")


def fold_runs(nodes: NodeProcs, *node_ids: str, cv: int) -> Counter[int]:
    """How many times each fold of trial 0 was started, over these nodes' logs."""
    runs: Counter[int] = Counter()
    for node_id in node_ids:
        for match in UNIT_LINE.finditer(nodes.log(node_id)):
            folds = range(1, cv + 1) if match[2] == "all" else map(int, match[2].split(","))
            runs.update(folds)
    return runs


def recorded_folds(checkpoint: Path) -> set[int]:
    """Folds of trial 0 the console has recorded so far: its checkpoint row, overridden by the
    journal lines written since (each flushed as it is recorded)."""
    rows = [rows_by_id(checkpoint).get(0, {})] if checkpoint.exists() else []
    for journal in (Path(f"{checkpoint}.journal.saving"), Path(f"{checkpoint}.journal")):
        if journal.exists():
            lines = journal.read_text().splitlines()
            rows += [row for row in map(json.loads, filter(None, lines)) if row.get("id") == 0]
    last = rows[-1] if rows else {}
    return set(last.get("folds") or range(1, len(last.get("fold_scores", [])) + 1))


def one_trial_search(tmp_path: Path, cv: int) -> Path:
    return write_search(
        tmp_path, space=f'seconds = {{ type = "choice", values = [{FOLD_S}] }}', cv=cv
    )


def start_one_trial(
    tmp_path: Path,
    nodes: NodeProcs,
    consoles: Consoles,
    cv: int,
    started: int,
    what: str,
    label: str = "console",
) -> tuple[HeadlessConsole, Path]:
    """A console on a one-trial search and node n1 (2 slots), once `started` fold runs began."""
    console = consoles.start(one_trial_search(tmp_path, cv), label=label)
    nodes.start(console.endpoint, "n1", slots=2)
    wait_until(lambda: sum(fold_runs(nodes, "n1", cv=cv).values()) >= started, 30, what)
    return console, tmp_path / "runs" / "t.toml"


def assert_recorded_once(checkpoint: Path, cv: int) -> None:
    (row,) = rows_by_id(checkpoint).values()
    assert row["status"] == "ok", row
    assert len(row["fold_scores"]) == cv, row
    assert row.get("folds", list(range(1, cv + 1))) == list(range(1, cv + 1)), row


def test_a_node_killed_mid_fold_loses_only_its_running_folds(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    cv = 4
    console, checkpoint = start_one_trial(
        tmp_path, nodes, consoles, cv, 3, "n1 to finish its first two folds and start a third"
    )
    nodes.signal("n1", signal.SIGKILL)
    nodes.wait("n1")
    kept = recorded_folds(checkpoint)
    assert kept, "n1 was killed before any fold was recorded"
    nodes.start(console.endpoint, "n2", slots=2)
    code = console.wait(60, "the console to finish on n2")
    assert code == 0, console.transcript()
    first, second = fold_runs(nodes, "n1", cv=cv), fold_runs(nodes, "n2", cv=cv)
    assert not kept & set(second), f"n2 re-ran folds already recorded ({kept}): {second}"
    assert set(second) == set(range(1, cv + 1)) - kept
    assert all((first + second)[fold] <= 2 for fold in range(1, cv + 1)), first + second
    assert_recorded_once(checkpoint, cv)


def test_folds_finished_while_the_console_was_down_are_recorded_not_run_again(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    cv = 2
    first, checkpoint = start_one_trial(
        tmp_path, nodes, consoles, cv, 2, "both folds started as units on n1", label="first"
    )
    first.signal(signal.SIGKILL)
    first.wait(10, "the killed console to be reaped")
    second = consoles.start(checkpoint, label="second", endpoint=first.endpoint)
    second.wait_for_line(joined("n1"), 30, "n1 back with the restarted console")
    code = second.wait(60, "the restarted console to finish")
    assert code == 0, second.transcript()
    assert fold_runs(nodes, "n1", cv=cv) == {1: 1, 2: 1}, nodes.log("n1")
    assert_recorded_once(checkpoint, cv)


def test_a_stopped_nodes_late_fold_results_are_not_recorded_twice(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    cv = 2
    console, checkpoint = start_one_trial(
        tmp_path, nodes, consoles, cv, 2, "both folds started as units on n1"
    )
    nodes.signal("n1", signal.SIGSTOP)
    console.wait_for_line(lambda line: "n1 gone" in line, 30, "n1 to be declared lost")
    nodes.start(console.endpoint, "n2", slots=2)
    wait_until(lambda: sum(fold_runs(nodes, "n2", cv=cv).values()) >= 1, 30, "n2 to take a fold")
    nodes.signal("n1", signal.SIGCONT)  # its results for the old units arrive late
    code = console.wait(60, "the console to finish")
    assert code == 0, console.transcript()
    assert_recorded_once(checkpoint, cv)
    assert "recorded twice" not in console.transcript()
