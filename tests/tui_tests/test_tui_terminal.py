"""`hpo-console FILE` on a real terminal (a pty): the TUI comes up, and signals quit it cleanly."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from console.searchfile.toml_io import load_search
from tests.conftest import REPO, write_search

SLOW = 'seconds = { type = "choice", values = [0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57] }'


def read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    """Read the terminal until `needle` shows up; fail after `timeout` seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} never appeared; last output: {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"{needle!r} never appeared before the terminal closed")
            seen += chunk
    return seen


def start_on_a_terminal(tmp_path: Path, search: Path) -> tuple[subprocess.Popen, int]:
    """hpo-console in a new session whose controlling terminal is a fresh 80x24 pty."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "screen", "PYTHONPATH": str(REPO)}

    def own_the_terminal() -> None:  # as a login shell would: hanging up then means SIGHUP
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "console", str(search), "--local-nodes", "1"],
        cwd=tmp_path,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        preexec_fn=own_the_terminal,
    )
    os.close(terminal)
    return proc, controller


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "hangup"])
def test_tui_on_a_terminal_quits_cleanly(tmp_path: Path, how: str) -> None:
    """SIGTERM and SIGHUP quit as q would; so does the terminal going away (SSH dropped)."""
    search = write_search(tmp_path, name="pty", space=SLOW)
    proc, controller = start_on_a_terminal(tmp_path, search)
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
