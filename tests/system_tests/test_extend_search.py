"""Extend a finished search by editing its search file and reopening it: real consoles and nodes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.searchfile.toml_io import load_search
from tests.conftest import REPO, write_search

pytestmark = pytest.mark.timeout(240)

ONE = 'seconds = { type = "choice", values = [0.0] }'
TWO = 'seconds = { type = "choice", values = [0.0, 0.01] }'


def _console(search: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", str(search), "--headless", "--local-nodes", "1"],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def _trials(checkpoint: Path) -> dict[int, dict]:
    return {row["id"]: row for row in load_search(checkpoint).state.trials}


def _finish(search: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = _console(search, cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_raised_max_trials_keeps_finished_trials_and_runs_only_new_ones(tmp_path: Path) -> None:
    search = write_search(tmp_path, name="ext", strategy="random", max_trials=3, space=ONE)
    checkpoint = tmp_path / "runs" / "ext.toml"
    _finish(search, tmp_path)
    before = _trials(checkpoint)
    assert sorted(before) == [0, 1, 2]

    search = write_search(tmp_path, name="ext", strategy="random", max_trials=6, space=TWO)
    result = _finish(search, tmp_path)
    assert (
        "extending: max_trials 3 -> 6; space.seconds [0.0] -> [0.0, 0.01], "
        "keeping 3 finished trials" in result.stdout
    )
    after = _trials(checkpoint)
    assert sorted(after) == list(range(6))
    for trial_id, row in before.items():
        assert after[trial_id] == row  # same params, score, node and finish time: not re-run
    assert all(row["status"] == "ok" and row["attempts"] == 1 for row in after.values())
    saved = load_search(checkpoint)
    assert saved.state.status == "finished" and saved.spec.max_trials == 6

    again = _finish(search, tmp_path)  # reopened as it is: nothing left, nothing re-run
    assert "already holds this search" in again.stdout
    assert _trials(checkpoint) == after


def test_widened_grid_runs_only_the_new_points(tmp_path: Path) -> None:
    search = write_search(tmp_path, name="grid", space=TWO)
    checkpoint = tmp_path / "runs" / "grid.toml"
    _finish(search, tmp_path)
    before = {row["params"]["seconds"]: row for row in _trials(checkpoint).values()}

    wider = 'seconds = { type = "choice", values = [0.0, 0.005, 0.01] }'
    result = _finish(write_search(tmp_path, name="grid", space=wider), tmp_path)
    assert "keeping 2 finished trials" in result.stdout
    after = _trials(checkpoint)
    assert [after[i]["params"]["seconds"] for i in range(3)] == [0.0, 0.005, 0.01]
    for seconds, row in before.items():
        kept = next(r for r in after.values() if r["params"]["seconds"] == seconds)
        assert {**kept, "id": row["id"]} == row  # renumbered to its grid place, otherwise as it was
    assert after[1]["attempts"] == 1 and after[1]["status"] == "ok"


def test_changed_metric_is_refused_naming_the_key(tmp_path: Path) -> None:
    search = write_search(tmp_path, name="met", strategy="random", max_trials=2, space=ONE)
    checkpoint = tmp_path / "runs" / "met.toml"
    _finish(search, tmp_path)
    before = checkpoint.read_bytes()
    search.write_text(search.read_text().replace('"accuracy"', '"f1_macro"'))
    result = _console(search, tmp_path)
    assert result.returncode == 2
    assert 'search.metric: "accuracy" -> "f1_macro"' in result.stderr
    assert "--fresh" in result.stderr
    assert checkpoint.read_bytes() == before
