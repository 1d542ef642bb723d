"""A real console process to attach to: headless, its own runtime folder, killed afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.attach import registry
from tests.conftest import write_search

REPO = Path(__file__).resolve().parents[2]
# Trials of ~0.25 s a fold on one slot: the search is still running while a test attaches.
LONG_SEARCH = 'seconds = { type = "float", low = 0.2, high = 0.3 }'


@dataclass
class ConsoleProcess:
    proc: subprocess.Popen[bytes]
    checkpoint: Path
    address: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_console(tmp_path: Path, *extra: str, trials: int = 200) -> Iterator[ConsoleProcess]:
    """`hpo-console SEARCH --headless` with one local node; yields once operators can attach."""
    search = write_search(
        tmp_path, name="attached", strategy="random", space=LONG_SEARCH, max_trials=trials
    )
    checkpoint = tmp_path / "runs" / "attached.toml"
    log = tmp_path / "console.out"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", str(search), "--headless", "--local-nodes", "1",
             "--local-slots", "1", "--save-to", str(checkpoint), *extra],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            found = [e for e in registry.entries() if e.checkpoint == str(checkpoint.resolve())]
            if found:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the console never listened for operators:\n{log.read_text()}")
            time.sleep(0.05)
        yield ConsoleProcess(proc, checkpoint, found[0].address, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry of consoles for this test only (short: Unix socket paths are limited)."""
    folder = tmp_path_factory.mktemp("rt", numbered=True)
    monkeypatch.setenv("HPO_RUNTIME_DIR", str(folder))
    return folder
