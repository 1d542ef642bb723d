"""Issue 10, point 5: bad journal lines get clear warnings, never a traceback or a silent drop.

A real search is killed (-9) mid-run so that `runs/t.toml.journal` holds its latest results;
three bad lines are appended; reopening the checkpoint must warn about each one, naming the
journal file and the line, and resume the search to its end.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, wait_until, write_search
from tests.system_tests.fault_helpers import Consoles, read_checkpoint, rows_by_id

pytestmark = pytest.mark.timeout(90)

TRIALS = 8
SPACE = 'seconds = {{ type = "choice", values = [{}] }}'.format(
    ", ".join(f"0.{n}" for n in range(2, 2 + TRIALS))
)
# "FILE:LINE" (as the journal warns today) or "FILE line LINE" / "FILE, line LINE".
JOURNAL_LINE = re.compile(r"t\.toml\.journal(?::|,? line )(\d+)")


def _row(search_hash: str, trial_id: object, seconds: float) -> bytes:
    """A journal line as journal.py writes it (search hash plus a trial's saved row)."""
    row = {
        "search": search_hash,
        "id": trial_id,
        "params": {"seconds": seconds},
        "status": "ok",
        "score": 0.5,
        "std": 0.0,
        "fold_scores": [0.5, 0.5],
        "attempts": 1,
        "failures": 0,
        "node": "n1",
        "duration_s": 1.0,
        "error": None,
        "finished_at": "2026-12-02T12:00:00+00:00",
    }
    return json.dumps(row, separators=(",", ":")).encode() + b"\n"


def test_bad_journal_lines_are_skipped_with_a_warning_naming_file_and_line(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """Appended to a real journal: (i) bytes that are not UTF-8, (ii) a row with `"id": "seven"`,
    (iii) a row for id 999, outside the 8-trial grid. Reopening prints no traceback, warns once
    per bad line with `t.toml.journal` and its line number, and finishes the search (exit 0)."""
    search = write_search(tmp_path, space=SPACE, cv=2)
    checkpoint = tmp_path / "runs" / "t.toml"
    journal = tmp_path / "runs" / "t.toml.journal"
    first = consoles.start(search, label="first")
    nodes.start(first.endpoint, "n1")
    wait_until(
        lambda: journal.exists() and journal.read_bytes().endswith(b"\n"),
        30,
        "a result in the journal",
    )
    first.signal(signal.SIGKILL)
    first.wait(10, "the killed console to be reaped")

    search_hash = read_checkpoint(checkpoint)["state"]["config_hash"]
    kept = journal.read_bytes() if journal.exists() else b""  # a checkpoint may have emptied it
    if kept and not kept.endswith(b"\n"):
        kept += b"\n"  # a torn last line stays a line of its own
    first_bad = kept.count(b"\n") + 1
    journal.write_bytes(
        kept
        + b"\xff\xfe\x80 not utf-8 \xc3\x28\n"
        + _row(search_hash, "seven", 0.2)
        + _row(search_hash, 999, 0.2)
    )

    second = consoles.start(checkpoint, label="second", endpoint=first.endpoint)
    code = second.wait(45, "the resumed search to finish")
    text = second.output() + second.errors()
    assert "Traceback" not in text, second.transcript()
    warned = {int(number) for number in JOURNAL_LINE.findall(text)}
    expected = {first_bad, first_bad + 1, first_bad + 2}
    assert expected <= warned, (
        f"journal lines {sorted(expected - warned)} were not named in a warning\n"
        + second.transcript()
    )
    assert code == 0, second.transcript()
    rows = rows_by_id(checkpoint)
    assert {i: r["status"] for i, r in rows.items()} == dict.fromkeys(range(TRIALS), "ok"), rows
    assert read_checkpoint(checkpoint)["state"]["status"] == "finished"
