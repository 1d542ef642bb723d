"""Issue 10, point 6: one console per checkpoint.

A second console on a checkpoint that a live console holds exits 2 and names the holder (host and
pid); the lock of a console that was killed (-9) is taken over by the next one, which then holds
it in turn. Real CLI processes, each listening on its own port, so only the lock can stop them.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, wait_until, write_search
from tests.system_tests.fault_helpers import Consoles, HeadlessConsole, joined, rows_by_id

pytestmark = pytest.mark.timeout(90)


def _assert_refused_by(intruder: HeadlessConsole, holder: HeadlessConsole) -> None:
    code = intruder.wait(15, f"{intruder.label} to refuse the checkpoint {holder.label} holds")
    assert code == 2, f"{intruder.label} exited {code}\n{intruder.transcript()}"
    errors = intruder.errors()
    assert str(holder.pid) in errors, f"the holder's pid {holder.pid} is not named:\n{errors}"
    assert socket.gethostname() in errors, f"the holder's host is not named:\n{errors}"
    assert holder.running(), f"{holder.label} stopped\n{holder.transcript()}"


def test_a_second_console_on_a_held_checkpoint_exits_2_naming_the_holder(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """Console A runs a slow search with a node; console B opened on A's checkpoint exits 2
    within seconds and its stderr names A's host and pid; A carries on."""
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [4.0] }', cv=2)
    checkpoint = tmp_path / "runs" / "t.toml"
    a = consoles.start(search, label="a")
    nodes.start(a.endpoint, "n1")
    a.wait_for_line(joined("n1"), 30, "n1 joined console A")
    wait_until(checkpoint.exists, 10, "A's first checkpoint")
    b = consoles.start(checkpoint, label="b")
    _assert_refused_by(b, a)


def test_the_lock_of_a_killed_console_is_taken_over(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """Console A is killed (-9) holding the checkpoint; console C opened on it takes the lock
    over and runs the search to its end, and while it runs a console D is refused naming C."""
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [1.5] }', cv=2)
    checkpoint = tmp_path / "runs" / "t.toml"
    a = consoles.start(search, label="a")
    wait_until(lambda: checkpoint.exists() or not a.running(), 15, "A's first checkpoint")
    assert a.running(), a.transcript()
    a.signal(signal.SIGKILL)
    a.wait(10, "the killed console A to be reaped")

    c = consoles.start(checkpoint, label="c")
    nodes.start(c.endpoint, "n1")
    c.wait_for_line(joined("n1"), 30, "n1 joined console C")
    d = consoles.start(checkpoint, label="d")
    _assert_refused_by(d, c)
    assert c.wait(30, "console C to finish the search") == 0, c.transcript()
    assert rows_by_id(checkpoint)[0]["status"] == "ok"
