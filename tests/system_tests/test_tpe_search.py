"""A real tpe search end to end: Optuna in the console, real node processes, loopback sockets;
then reopened from its checkpoint, the study is rebuilt and the search goes on to new points."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.scheduler.checkpoint import restore_ledger
from console.search.optuna_study import param_key
from console.searchfile.toml_io import load_search
from tests.conftest import NodeProcs, Recorder, run_to_end, write_search

pytestmark = pytest.mark.timeout(120)


def test_tiny_tpe_search_with_two_nodes_records_distinct_points_and_resumes(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        estimator="logistic_regression",
        strategy="tpe",
        max_trials=12,
        fixed="{ max_iter = 300 }",
        space='C = { type = "float", low = 0.001, high = 100.0, log = true }\n'
        'fit_intercept = { type = "choice", values = [true, false] }',
        extra_search="parallelism = 2",
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()
    state = run_to_end(search, checkpoint, recorder, nodes, ("n1", "n2"), timeout=90)
    assert state == "finished"
    assert recorder.scored_counts() == {i: 1 for i in range(12)}
    saved = load_search(checkpoint)
    trials = saved.state.trials
    assert all(t["status"] == "ok" for t in trials)
    assert len({param_key(t["params"]) for t in trials}) == 12  # never the same point twice

    # Reopened: the strategy rebuilds its study from the checkpoint, all twelve trials in it.
    _, strategy, warnings = restore_ledger(saved.spec, saved.state, checkpoint)
    assert warnings == []
    study = strategy.bridge.study
    assert len(study.trials) == 12
    assert study.best_value == max(t["score"] for t in trials)
