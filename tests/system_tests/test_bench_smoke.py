"""The benchmarks still run end to end (their numbers are judged by people, never by tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("dispatch", ["raw ROUTER/DEALER loop", "dispatch, prefetch 0, CURVE", "trials/s"]),
        ("tui", ["scheduler alone", "refresh_view() ran", "console absorbs 1,000 results"]),
        ("scaling", ["CPU us/trial", "reopen s", "heartbeats/s", "RESULTs/s (all busy)"]),
        ("search", ["W=8 tpe", "regret@20", "tpe ask latency at 60 trials", "dup dispatched"]),
        ("pruning", ["svc-digits: configs explored", "svc-digits: holdout below random"]),
        ("grid", ["tpe+pruning: time to grid's best", "grid's own time to its best"]),
    ],
)
def test_quick_benchmark_runs_and_prints_its_summary(which: str, expected: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", which, "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, f"{text!r} missing from:\n{result.stdout}"
