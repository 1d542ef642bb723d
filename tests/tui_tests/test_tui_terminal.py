"""`hpo-console FILE` on a real terminal (a pty): the TUI comes up, and signals quit it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from console.searchfile.toml_io import load_search
from tests.conftest import REPO, write_search
from tests.terminal import read_until, start_on_a_terminal

SLOW = 'seconds = { type = "choice", values = [0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57] }'


def start_console(tmp_path: Path, search: Path) -> tuple[subprocess.Popen, int]:
    """hpo-console on a fresh 80x24 terminal."""
    env = {**os.environ, "TERM": "screen", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "console", str(search), "--local-nodes", "1"]
    return start_on_a_terminal(argv, tmp_path, env)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "hangup"])
def test_tui_on_a_terminal_quits_cleanly(tmp_path: Path, how: str) -> None:
    """SIGTERM and SIGHUP quit as q would; so does the terminal going away (SSH dropped)."""
    search = write_search(tmp_path, name="pty", space=SLOW)
    proc, controller = start_console(tmp_path, search)
    try:
        read_until(controller, b"RUNNING", 30)
        read_until(controller, b"0.5", 30)  # a trial is on screen: nodes are working
        if how == "hangup":
            os.close(controller)  # the kernel hangs the terminal up: SIGHUP, dead output
            controller = -1
        elif how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
            read_until(controller, b"checkpoint:", 30)  # the farewell after the screen
        else:  # SIGHUP means the terminal is gone: nothing more is written to it
            proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if controller >= 0:
            os.close(controller)
    saved = load_search(tmp_path / "runs" / "pty.toml").state
    assert saved.status in ("stopped", "finished")
    assert all(row["status"] in ("ok", "pending") for row in saved.trials)
    assert (tmp_path / "runs" / "pty.logs" / "console.log").exists()
