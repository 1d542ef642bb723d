"""Real nodes: a node that cannot load the data is held back, and a pipeline search scores
exactly what a plain scikit-learn loop over the same pipeline, splitter and scorer gives."""

from __future__ import annotations

import asyncio
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from console.scheduler import events as ev
from console.searchfile.toml_io import load_search
from tests.conftest import NodeProcs, Recorder, start_search, wait_for, write_search

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


def _iris_csv(path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["a", "b", "c", "d", "target"])
        out.writerows([*map(float, row), int(label)] for row, label in zip(X, y, strict=True))


def test_a_node_without_the_data_is_held_back_and_costs_no_trial(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    _iris_csv(good / "data.csv")  # a relative file: path only the good node's folder holds
    space = 'n_neighbors = { type = "choice", values = [1, 3, 5, 7, 9, 11] }'
    search = write_search(tmp_path, estimator="kneighbors", space=space, dataset="file:data.csv")
    checkpoint = tmp_path / "runs" / "t.toml"
    recorder = Recorder()

    async def scenario() -> str:
        scheduler, task = await start_search(search, checkpoint, recorder, nodes, node_ids=())
        nodes.start(scheduler.endpoint, "bad", cwd=bad)
        await wait_for(lambda: recorder.of(ev.NodeQuarantined), 30, "bad node held back", task)
        nodes.start(scheduler.endpoint, "good", cwd=good)
        return await asyncio.wait_for(task, 60)

    assert asyncio.run(scenario()) == "finished"
    (held,) = recorder.of(ev.NodeQuarantined)
    assert held.node_id == "bad"
    assert "dataset unavailable" in held.last_failure and "not found" in held.last_failure
    assert not [e for e in recorder.of(ev.TrialFailed) if e.final]
    rows = load_search(checkpoint).state.trials
    assert [row["status"] for row in rows] == ["ok"] * 6
    assert all(row["failures"] == 0 and row["node"] == "good" for row in rows)
    assert any(e.trial_id == rows[0]["id"] for e in recorder.of(ev.TrialRequeued))


def test_example_search_scores_equal_a_plain_sklearn_loop(tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    checkpoint = tmp_path / "d.toml"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "console",
            "--headless",
            "examples/diabetes_two_metrics.toml",
            "--save-to",
            str(checkpoint),
            "--local-nodes",
            "1",
            "--local-slots",
            "2",
            "--bind",
            "tcp://127.0.0.1:0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert run.returncode == 0, run.stderr
    assert "metrics: r2 " in run.stdout and ", neg_mean_absolute_error -" in run.stdout
    rows = load_search(checkpoint).state.trials
    assert len(rows) == 8 and all(row["status"] == "ok" for row in rows)
    X, y = _diabetes()
    for row in rows:
        params = row["params"]
        model = Pipeline(
            [
                ("poly", PolynomialFeatures(degree=params["poly__degree"])),
                ("scale", StandardScaler()),
                ("ridge", Ridge(alpha=params["ridge__alpha"], random_state=0)),
            ]
        )
        scores: dict[str, list[float]] = {"r2": [], "neg_mean_absolute_error": []}
        for train, test in KFold(5, shuffle=True, random_state=3).split(X):
            fitted = model.fit(X[train], y[train])
            for name, values in scores.items():
                values.append(get_scorer(name)(fitted, X[test], y[test]))
        assert np.allclose(row["fold_scores"], scores["r2"], rtol=0, atol=1e-12)
        assert abs(row["score"] - np.mean(scores["r2"])) <= 1e-12
        for name, values in scores.items():
            assert np.allclose(row["scores"][name], values, rtol=0, atol=1e-12)


def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)
