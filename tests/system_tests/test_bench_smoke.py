"""The benchmark still runs end to end (its numbers are judged by people, never by tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.timeout(180)


def test_quick_dispatch_benchmark_runs_and_prints_its_summary() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "dispatch", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr
    assert "raw ROUTER/DEALER loop" in result.stdout
    assert "dispatch, prefetch 0" in result.stdout and "trials/s" in result.stdout
