"""Issue 10, point 7: a headless console that gets SIGHUP (its SSH session dropped) stops cleanly.

Like SIGTERM: running trials are handed back, the checkpoint says `stopped`, exit 0.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import NodeProcs, write_search
from tests.system_tests.fault_helpers import Consoles, joined, read_checkpoint

pytestmark = pytest.mark.timeout(60)


def test_sighup_mid_search_checkpoints_as_stopped_and_exits_0(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """SIGHUP while a node runs a 6 s trial: the console exits 0 within seconds and its checkpoint
    has `[state] status = "stopped"` (not `running`)."""
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [3.0] }', cv=2)
    console = consoles.start(search)
    nodes.start(console.endpoint, "n1")
    console.wait_for_line(joined("n1"), 30, "n1 joined (its trial is running)")
    console.signal(signal.SIGHUP)
    code = console.wait(10, "the console to stop on SIGHUP")
    assert code == 0, f"exit code {code} on SIGHUP\n{console.transcript()}"
    saved = read_checkpoint(tmp_path / "runs" / "t.toml")
    assert saved["state"]["status"] == "stopped", saved["state"]
