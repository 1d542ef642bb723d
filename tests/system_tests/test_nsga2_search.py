"""A real two-objective nsga2 search end to end: real node processes on loopback, accuracy and
fit time from the nodes; then `hpo-console results --pareto` prints the front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.results import pareto_ids, read_results
from tests.conftest import REPO, NodeProcs, Recorder, run_to_end, write_search

pytestmark = pytest.mark.timeout(120)


def test_nsga2_runs_to_the_end_and_results_show_the_pareto_front(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        estimator="logistic_regression",
        strategy="nsga2",
        max_trials=8,
        fixed="{ max_iter = 300 }",
        space='C = { type = "float", low = 0.001, high = 100.0, log = true }',
        extra_search='parallelism = 2\nobjectives = ["accuracy", "fit_time"]',
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()
    state = run_to_end(search, checkpoint, recorder, nodes, ("n1", "n2"), timeout=90)
    assert state == "finished"
    assert recorder.scored_counts() == {i: 1 for i in range(8)}
    results = read_results(checkpoint)
    assert all(r.duration_s and r.duration_s > 0 for r in results.records)  # the nodes' times
    assert all(r.sampler_attrs for r in results.records)  # NSGA-II's generation, saved
    front = pareto_ids(results.spec, results.records)
    assert front and front <= {r.id for r in results.records}

    shown = subprocess.run(
        [sys.executable, "-m", "console", "results", str(checkpoint), "--pareto"],
        text=True, capture_output=True, timeout=30, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert f"{len(front)} on the Pareto front of accuracy, fit_time" in lines[0]
    assert lines[1].split()[:4] == ["rank", "id", "status", "pareto"]
    assert {line.split()[1] for line in lines[2:]} == {str(i) for i in front}
    print(shown.stdout)
