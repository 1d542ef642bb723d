"""SIGKILL the console mid-search, reopen its checkpoint: nothing finished is run again."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from console.scheduler.checkpoint import restore_ledger
from console.searchfile.toml_io import load_search
from tests.conftest import REPO, wait_until, write_search

pytestmark = pytest.mark.timeout(180)

TRIALS = 16


def _recorded(checkpoint: Path) -> dict[int, dict]:
    """Finished trials as a resuming console would see them (checkpoint + journal)."""
    loaded = load_search(checkpoint)
    ledger, _, _ = restore_ledger(loaded.spec, loaded.state, checkpoint)
    return {t.id: t.to_row() for t in ledger.trials.values() if t.is_final}


def _console(*args: str, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "console", *args, "--headless"],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        )


def test_killed_console_resumes_without_rerunning_finished_trials(tmp_path: Path) -> None:
    search = write_search(
        tmp_path,
        name="resume",
        strategy="random",
        max_trials=TRIALS,
        space='seconds = { type = "float", low = 0.3, high = 0.6 }',
        local_nodes=2,
    )
    checkpoint = tmp_path / "runs" / "resume.toml"
    log = tmp_path / "console.log"

    first = _console(str(search), "--local-slots", "1", cwd=tmp_path, log=log)
    try:
        wait_until(
            lambda: checkpoint.exists() and len(_recorded(checkpoint)) >= 4,
            60,
            "four trials recorded by the first console",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    before = _recorded(checkpoint)
    assert 4 <= len(before) < TRIALS

    second = _console(str(checkpoint), cwd=tmp_path, log=log)
    assert second.wait(timeout=120) == 0, log.read_text()
    after = {t["id"]: t for t in load_search(checkpoint).state.trials}
    assert sorted(after) == list(range(TRIALS))
    assert all(t["status"] == "ok" for t in after.values())
    for trial_id, row in before.items():
        # Same finish time and node: the resumed console kept it and did not run it again.
        assert after[trial_id] == row
    assert load_search(checkpoint).state.status == "finished"
    assert "best trial" in log.read_text()
