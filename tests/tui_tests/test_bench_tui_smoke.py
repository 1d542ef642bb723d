"""The console burst benchmark still runs end to end (its numbers are judged by people)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.timeout(60)


def test_quick_tui_benchmark_runs_and_prints_its_summary() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "tui", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stderr
    assert "scheduler alone" in result.stdout and "refresh_view() ran" in result.stdout
    assert "console absorbs 1,000 results" in result.stdout
