"""A signal sent to a node's whole process group (Ctrl-C in its terminal, `timeout`, a service
manager's stop) reaches its slot processes and fork server too. Only the supervisor may act on
it: it hands its leases back and exits 0. Were the children to die first, their trial would be
reported as a crash and charged to the trial, and a slot restarted on a dead fork server would
end the node with a traceback."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, wait_until, write_search
from tests.system_tests.fault_helpers import Consoles, rows_by_id

pytestmark = pytest.mark.timeout(90)


def children_of(pid: int) -> list[int]:
    """The processes `pid` started (its fork server, once the slots are being made)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_group_signal_mid_trial_hands_the_trial_back_uncharged(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles, signum: signal.Signals
) -> None:
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [3.0] }', cv=2)
    console = consoles.start(search)
    nodes.start(console.endpoint, "n1", own_group=True)
    wait_until(lambda: "trial 0 started" in nodes.log("n1"), 30, "n1 to start trial 0")
    nodes.signal_group("n1", signum)
    code = nodes.wait("n1", 15)
    log = nodes.log("n1")
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "1 lease(s) handed back" in log, log
    nodes.start(console.endpoint, "n2")
    assert console.wait(60, "the console to finish on n2") == 0, console.transcript()
    (row,) = rows_by_id(tmp_path / "runs" / "t.toml").values()
    assert row["status"] == "ok" and row["failures"] == 0, row  # a stop, not the trial's fault


def test_a_group_sigterm_while_the_slots_start_exits_0_quietly(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    nodes.start("tcp://127.0.0.1:9", "early", slots=2, own_group=True)
    pid = nodes.procs["early"].pid
    wait_until(lambda: children_of(pid), 30, "the node to start its fork server")
    nodes.signal_group("early", signal.SIGTERM)
    code = nodes.wait("early", 20)
    log = nodes.log("early")
    assert code == 0, log
    assert "Traceback" not in log, log
