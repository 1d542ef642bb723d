"""`hpo-console results` and console.results: real checkpoint files, the real CLI in a process."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from console.records import TrialRecord
from console.results import (
    ResultsError,
    columns,
    flat_row,
    load_results,
    metric_names,
    nested_row,
    results_frame,
)
from console.scheduler.journal import Journal, journal_path_for
from console.searchfile.toml_io import SavedState, load_search, save_search
from tests.conftest import REPO, write_search

pytestmark = pytest.mark.timeout(60)

SPACE = (
    'seconds = { type = "float", low = 0.0, high = 1.0 }\n'
    'fail = { type = "choice", values = [false, true] }'
)
FIELDS = dict(node="local-1", attempts=1, duration_s=0.5, finished_at="2026-01-01T00:00:00")


def _records() -> list[TrialRecord]:
    ok = [
        TrialRecord(i, {"seconds": s, "fail": False}, "ok", score=sc, std=0.01,
                    fold_scores=(sc - 0.01, sc + 0.01), **FIELDS)
        for i, s, sc in ((0, 0.1, 0.7), (1, 0.2, 0.9), (2, 0.3, 0.8))
    ]  # fmt: skip
    failed = TrialRecord(3, {"seconds": 0.4, "fail": True}, "failed", error="ValueError: boom")
    return [*ok, failed, TrialRecord(4, {"seconds": 0.5, "fail": False})]


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    spec = load_search(
        write_search(tmp_path, name="res", strategy="random", max_trials=6, space=SPACE)
    ).spec
    path = tmp_path / "runs" / "res.toml"
    records = _records()
    rows = [r.to_row() for r in records[:-1]]
    save_search(path, spec, SavedState("stopped", spec.config_hash(), "2026-01-01T00:00:00", rows))
    # The last trial is only in the journal, as after a killed console: it must show up.
    journal = Journal(journal_path_for(path))
    best = TrialRecord(5, {"seconds": 0.6, "fail": False}, "ok", score=0.95, std=0.0, **FIELDS)
    for record in (records[-1], best):
        journal.append({"search": spec.config_hash(), **record.to_row()})
    journal.close()
    return path


def _results(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "results", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=30,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def test_table_ranks_best_first_with_failed_after(checkpoint: Path) -> None:
    result = _results(str(checkpoint), "--top", "2", cwd=checkpoint.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("res (stopped): 4 scored, 2 other; 4 shown")
    assert lines[1].split()[:4] == ["rank", "id", "status", "accuracy"]
    assert [line.split()[:2] for line in lines[2:4]] == [["1", "5"], ["2", "1"]]
    assert lines[4].split()[:3] == ["-", "3", "failed"]
    assert "trial 3 failed: ValueError: boom" in result.stdout


def test_csv_has_every_trial_in_stable_columns(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = _results(str(checkpoint), "--csv", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == [
        "id", "status", "score", "std", "param.seconds", "param.fail",
        "fold_scores", "duration_s", "node", "attempts", "error", "finished_at",
    ]  # fmt: skip
    assert [r["id"] for r in rows] == ["5", "1", "2", "0", "3", "4"]
    assert rows[1]["fold_scores"] == "0.89;0.91" and rows[1]["param.seconds"] == "0.2"
    assert rows[4]["error"] == "ValueError: boom" and rows[5]["status"] == "pending"


def test_json_to_stdout_is_data_alone(checkpoint: Path) -> None:
    result = _results(str(checkpoint), "--json", "-", "--status", "ok", cwd=checkpoint.parent)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["search"] == "res" and document["metric"] == "accuracy"
    trials = document["trials"]
    assert [t["id"] for t in trials] == [5, 1, 2, 0]
    assert trials[1]["params"] == {"seconds": 0.2, "fail": False}
    assert trials[1]["fold_scores"] == [0.89, 0.91] and trials[1]["node"] == "local-1"


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d / "missing.toml", "missing.toml: no such file"),
        (lambda d: write_search(d, name="plain"), "plain.toml: not a checkpoint"),
        (lambda d: _write(d / "bad.toml", "[search\n"), "bad.toml:1"),
    ],
)
def test_unusable_file_exits_2_naming_it(tmp_path: Path, make, expected: str) -> None:
    path = make(tmp_path)
    result = _results(str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and result.stdout == ""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_python_api_lists_records_including_journaled_ones(checkpoint: Path) -> None:
    records = load_results(checkpoint)
    assert [r.id for r in records] == [0, 1, 2, 3, 4, 5]
    assert records[5].score == 0.95 and records[4].status == "pending"
    with pytest.raises(ResultsError, match="no such file"):
        load_results(checkpoint.with_name("nope.toml"))


def test_dataframe_when_pandas_is_installed(checkpoint: Path) -> None:
    pytest.importorskip("pandas", reason="pandas is optional; results_frame needs it")
    frame = results_frame(checkpoint)
    assert list(frame["id"]) == [5, 1, 2, 0, 3, 4]
    assert "param.seconds" in frame.columns


def test_dataframe_without_pandas_says_what_to_do(checkpoint: Path) -> None:
    try:
        import pandas  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pandas is installed here: the DataFrame test covers it")
    with pytest.raises(ImportError, match="pip install pandas"):
        results_frame(checkpoint)


def test_extra_metrics_on_a_record_become_columns_by_themselves(checkpoint: Path) -> None:
    spec = load_search(checkpoint).spec
    record = TrialRecord(
        7,
        {"seconds": 0.1},
        "ok",
        score=0.9,
        fold_scores=(0.9, 0.9),
        scores={"f1": (0.8, 0.8), "auc": (0.7, 0.7)},  # a search with several metrics
    )
    names = metric_names([record])
    assert names == ["auc", "f1"]
    cols = columns(spec, [record])
    assert cols[cols.index("param.fail") + 1 : cols.index("fold_scores")] == [
        "metric.auc",
        "metric.f1",
    ]
    assert flat_row(record, ["seconds"], names)["metric.f1"] == 0.8
    assert nested_row(record)["metrics"] == {"f1": 0.8, "auc": 0.7}


@pytest.fixture
def two_objectives(tmp_path: Path) -> Path:
    """A finished nsga2 search over (accuracy, fit_time): trials 1, 2 and 5 are the front."""
    spec = load_search(
        write_search(tmp_path, name="mo", strategy="nsga2", max_trials=6, space=SPACE,
                     extra_search='objectives = ["accuracy", "fit_time"]')
    ).spec  # fmt: skip
    found = [(0, 0.70, 3.0), (1, 0.90, 2.0), (2, 0.80, 1.0), (3, 0.80, 2.5), (4, 0.60, 9.0)]
    rows = [
        TrialRecord(i, {"seconds": i / 10, "fail": False}, "ok", score=accuracy, std=0.0,
                    fold_scores=(accuracy,), duration_s=fit_time).to_row()
        for i, accuracy, fit_time in found
    ]  # fmt: skip
    rows.append(TrialRecord(5, {"seconds": 0.5, "fail": False}, "ok", 0.5, 0.0, (0.5,),
                            duration_s=0.5).to_row())  # fmt: skip
    rows.append(TrialRecord(6, {"seconds": 0.6, "fail": True}, "failed", error="boom").to_row())
    path = tmp_path / "runs" / "mo.toml"
    save_search(path, spec, SavedState("finished", spec.config_hash(), "2026-01-01", rows))
    return path


def test_pareto_marks_the_front_and_shows_only_it(two_objectives: Path) -> None:
    result = _results(str(two_objectives), cwd=two_objectives.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "6 scored, 1 other; 3 on the Pareto front of accuracy, fit_time" in lines[0]
    assert lines[1].split()[:4] == ["rank", "id", "status", "pareto"]
    marked = {line.split()[1] for line in lines[2:] if line.split()[3:4] == ["*"]}
    assert marked == {"1", "2", "5"}
    only = _results(str(two_objectives), "--pareto", "--csv", "-", cwd=two_objectives.parent)
    rows = list(csv.DictReader(io.StringIO(only.stdout)))
    assert [row["id"] for row in rows] == ["1", "2", "5"]  # best score first, as ever
    assert {row["pareto"] for row in rows} == {"True"}
    document = json.loads(
        _results(str(two_objectives), "--json", "-", cwd=two_objectives.parent).stdout
    )
    assert document["objectives"] == ["accuracy", "fit_time"]
    assert [t["id"] for t in document["trials"] if t["pareto"]] == [1, 2, 5]


def test_pareto_without_objectives_exits_2(checkpoint: Path) -> None:
    result = _results(str(checkpoint), "--pareto", cwd=checkpoint.parent)
    assert result.returncode == 2
    assert "--pareto needs several objectives" in result.stderr
    assert "pareto" not in columns(load_search(checkpoint).spec, [])
