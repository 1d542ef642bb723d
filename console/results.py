"""A checkpoint's results as Python data: frozen records, flat rows, or a pandas DataFrame.

    from console.results import load_results, results_frame
    records = load_results("runs/digits-svc.toml")    # [TrialRecord, ...], by trial id
    frame = results_frame("runs/digits-svc.toml")     # needs pandas

The checkpoint's journal is replayed, so a killed console's latest trials are included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.records import TrialRecord, TrialStatus
from console.scheduler.checkpoint import saved_records
from console.search import objectives
from console.searchfile.toml_io import SearchFileError, SearchSpec, load_search

# Columns before and after the params and metrics, in this order in every CSV and table.
LEAD_COLUMNS = ("id", "status", "score", "std")
TAIL_COLUMNS = ("fold_scores", "duration_s", "node", "attempts", "error", "finished_at")


class ResultsError(Exception):
    """The file cannot give results (missing, not a checkpoint, unreadable); str() names it."""


@dataclass(frozen=True)
class Results:
    spec: SearchSpec
    status: str  # the search's saved state: running, stopped, finished...
    records: list[TrialRecord]  # by trial id
    warnings: list[str]  # saved rows that could not be used, naming file and line


def read_results(path: str | Path) -> Results:
    """The checkpoint's spec and every trial (checkpoint plus journal); ResultsError if unusable."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such file")
    try:
        loaded = load_search(path)
    except SearchFileError as exc:
        raise ResultsError(str(exc)) from None
    if loaded.state is None:
        raise ResultsError(
            f"{path}: not a checkpoint (no [state]): open the search's runs/NAME.toml instead"
        )
    records, _, warnings = saved_records(loaded.state, path, loaded.state.config_hash)
    ordered = [records[trial_id] for trial_id in sorted(records)]
    return Results(loaded.spec, loaded.state.status, ordered, warnings)


def load_results(path: str | Path) -> list[TrialRecord]:
    """Every trial of a checkpoint as frozen records, by trial id; ResultsError if unusable."""
    return read_results(path).records


def ranked(records: list[TrialRecord]) -> list[TrialRecord]:
    """Scored trials best first (greater is better, as scikit-learn scorers), ties by id; then
    every other trial (pruned, failed, pending) by id."""
    scored = [r for r in records if r.status == TrialStatus.OK and r.score is not None]
    scored.sort(key=lambda r: (-(r.score or 0.0), r.id))
    rest = [r for r in records if r not in scored]
    return scored + rest


def pareto_ids(spec: SearchSpec, records: list[TrialRecord]) -> set[int]:
    """The scored trials on the Pareto front of the search's `objectives` (none without them):
    no other trial is at least as good in every objective and better in one."""
    if not spec.objectives:
        return set()
    points = {}
    for record in records:
        if record.status != TrialStatus.OK:
            continue
        measured = objectives.measures(
            record.score, record.metric_means(), record.duration_s, spec.metric
        )
        try:
            points[record.id] = objectives.values_of(spec.objectives, measured)
        except KeyError:
            continue  # an objective it never reported (a node that sent no metrics): not ranked
    return objectives.pareto_front(points, spec.objectives)


def metrics_of(record: TrialRecord) -> dict[str, float]:
    """The record's metric means by name: empty for a single-metric search (its `score` says
    it all)."""
    return record.metric_means()


def param_names(spec: SearchSpec, records: list[TrialRecord]) -> list[str]:
    """The space's parameters in file order, then any other name a trial has (sorted)."""
    names = list(spec.space)
    extra = {name for r in records for name in r.params if name not in spec.space}
    return names + sorted(extra)


def metric_names(records: list[TrialRecord]) -> list[str]:
    return sorted({name for r in records for name in metrics_of(r)})


def columns(spec: SearchSpec, records: list[TrialRecord]) -> list[str]:
    """Flat column names: id, status, score, std, param.NAME..., metric.NAME..., pareto (with
    several objectives), then the rest."""
    return [
        *LEAD_COLUMNS,
        *(f"param.{name}" for name in param_names(spec, records)),
        *(f"metric.{name}" for name in metric_names(records)),
        *(("pareto",) if spec.objectives else ()),
        *TAIL_COLUMNS,
    ]


def flat_row(
    record: TrialRecord, params: list[str], metrics: list[str], front: set[int] | None = None
) -> dict[str, Any]:
    """One trial as a flat mapping of `columns()` (a param a trial lacks is None); `front`,
    the Pareto front's trial ids, when the search has several objectives."""
    values = metrics_of(record)
    pareto = {} if front is None else {"pareto": record.id in front}
    return {
        "id": record.id,
        "status": str(record.status),
        "score": record.score,
        "std": record.std,
        **{f"param.{name}": record.params.get(name) for name in params},
        **{f"metric.{name}": values.get(name) for name in metrics},
        **pareto,
        "fold_scores": list(record.fold_scores),
        "duration_s": record.duration_s,
        "node": record.node,
        "attempts": record.attempts,
        "error": record.error,
        "finished_at": record.finished_at,
    }


def nested_row(record: TrialRecord, front: set[int] | None = None) -> dict[str, Any]:
    """One trial for JSON: params and metrics as nested objects (and `pareto` with several
    objectives)."""
    pareto = {} if front is None else {"pareto": record.id in front}
    return {
        "id": record.id,
        "status": str(record.status),
        "params": dict(record.params),
        "score": record.score,
        "std": record.std,
        "metrics": metrics_of(record),
        **pareto,
        "fold_scores": list(record.fold_scores),
        "duration_s": record.duration_s,
        "node": record.node,
        "attempts": record.attempts,
        "error": record.error,
        "finished_at": record.finished_at,
    }


def results_frame(path: str | Path) -> Any:
    """The checkpoint's trials as a pandas DataFrame, one row per trial (columns as in
    `hpo-console results --csv`), ranked best first. pandas is not a dependency of zmq-hpo."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "results_frame needs pandas, which is not installed (pip install pandas); "
            "load_results() gives the same trials as a list of records"
        ) from None
    results = read_results(path)
    params, metrics = param_names(results.spec, results.records), metric_names(results.records)
    front = pareto_ids(results.spec, results.records) if results.spec.objectives else None
    rows = [flat_row(r, params, metrics, front) for r in ranked(results.records)]
    return pd.DataFrame(rows, columns=columns(results.spec, results.records))
