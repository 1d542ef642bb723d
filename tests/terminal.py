"""A real terminal for a test: a process whose controlling terminal is a fresh pty, and reading
what it draws until some text shows up."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path


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


def start_on_a_terminal(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    size: tuple[int, int] = (80, 24),
) -> tuple[subprocess.Popen, int]:
    """`argv` in a new session whose controlling terminal is a fresh pty of `size` (columns,
    rows); returns the process and the terminal's controller side (the caller closes it)."""
    controller, terminal = pty.openpty()
    columns, rows = size
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def own_the_terminal() -> None:  # as a login shell would: hanging up then means SIGHUP
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        preexec_fn=own_the_terminal,
    )
    os.close(terminal)
    return proc, controller


class TerminalDrain:
    """Keeps reading a terminal on a thread of its own, so a TUI that redraws ten times a second
    never blocks on a full terminal while the test waits for something else; `until` waits for
    text in everything read so far."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._seen = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="terminal-drain", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # closed: the child ended, or the test closed its side
                return
            if not chunk:
                return
            with self._lock:
                self._seen += chunk

    def until(self, needle: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if needle in self._seen:
                    return
                tail = bytes(self._seen[-500:])
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never appeared; last output: {tail!r}")
            time.sleep(0.05)  # polling a buffer another thread fills, with a deadline
