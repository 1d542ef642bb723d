"""One trial as it is saved: the row format shared by the journal, the checkpoint and export.

`TrialRecord.from_row` is the one validator for a row that comes from disk: a journal line or a
checkpoint's [[trials]] table that has the wrong types raises RecordError naming the field, never
a KeyError or TypeError from deep inside the scheduler.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from console.search import sampler_state

log = logging.getLogger(__name__)


class TrialStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # live only: saved as pending (it runs again, or is adopted)
    OK = "ok"
    FAILED = "failed"
    PRUNED = "pruned"  # stopped early by the pruner: partial fold scores, never the best


FINAL_STATUSES = frozenset({TrialStatus.OK, TrialStatus.FAILED, TrialStatus.PRUNED})
SAVED_STATUSES = (TrialStatus.PENDING, TrialStatus.OK, TrialStatus.FAILED, TrialStatus.PRUNED)


class RecordError(ValueError):
    """A saved trial row is unusable; the message names the field."""


@dataclass(frozen=True)
class OpenLease:
    """A lease issued for a trial that has no outcome yet: saved before its TASK leaves, so a
    restarted console recognises the node's result (or its HELLO) as one it issued. `folds` are
    the CV folds the unit covers (empty: the whole trial, as files written before units say)."""

    lease_id: str
    node_id: str
    attempt: int
    folds: tuple[int, ...] = ()

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"lease": self.lease_id, "node": self.node_id}
        row["attempt"] = self.attempt
        if self.folds:
            row["folds"] = list(self.folds)
        return row

    @classmethod
    def from_row(cls, row: Any) -> OpenLease:
        if not isinstance(row, dict):
            raise RecordError("leases: each item must be a table")
        lease, node, attempt = row.get("lease"), row.get("node"), row.get("attempt")
        if not (isinstance(lease, str) and isinstance(node, str) and _is_int(attempt)):
            raise RecordError("leases: each item needs lease (string), node (string), attempt")
        folds = row.get("folds", [])
        if not _is_fold_list(folds):
            raise RecordError("leases: folds must be a list of fold numbers >= 1")
        if set(row) - {"lease", "node", "attempt", "folds"}:
            raise RecordError(f"leases: unknown field(s) in {sorted(row)}")
        return cls(lease, node, attempt, tuple(folds))


@dataclass(frozen=True)
class TrialRecord:
    """The saved form of one trial. A running trial is saved as pending, with its open leases."""

    id: int
    params: dict[str, Any]
    status: str = TrialStatus.PENDING
    score: float | None = None
    std: float | None = None
    fold_scores: tuple[float, ...] = ()
    # The fold number of each of `fold_scores` (empty: folds 1..n in order, as a whole trial).
    folds: tuple[int, ...] = ()
    attempts: int = 0  # how many times its most-tried fold was dispatched
    failures: int = 0  # timeouts and crashes charged to the trial itself
    node: str | None = None
    duration_s: float | None = None
    error: str | None = None
    finished_at: str | None = None
    leases: tuple[OpenLease, ...] = field(default=())
    # With several metrics: each one's fold scores, {name: [score, ...]}; empty = only `score`.
    scores: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # The sampler's own state on this trial (CMA-ES's optimizer and generation, NSGA-II's
    # generation: console/search/sampler_state.py), strings only; empty for other strategies.
    sampler_attrs: dict[str, str] = field(default_factory=dict)

    def metric_means(self) -> dict[str, float]:
        """Each recorded metric's mean over its folds."""
        return {name: sum(v) / len(v) for name, v in self.scores.items() if v}

    def scores_by_fold(self) -> dict[int, float]:
        """Each recorded fold's score by fold number."""
        numbers = self.folds or range(1, len(self.fold_scores) + 1)
        return dict(zip(numbers, self.fold_scores, strict=True))

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["status"] = str(self.status)
        row["fold_scores"] = list(self.fold_scores)
        row["folds"] = list(self.folds)
        row["leases"] = [lease.to_row() for lease in self.leases]
        row["scores"] = {name: list(values) for name, values in self.scores.items()}
        row["sampler_attrs"] = dict(self.sampler_attrs)
        return row

    @classmethod
    def from_row(cls, row: Any, warnings: list[str] | None = None) -> TrialRecord:
        """Validate a row read from disk; RecordError says which field is wrong. A bad
        `sampler_attrs` only loses the sampler's state (it restarts from the trials): it is
        dropped, and the reason appended to `warnings`."""
        if not isinstance(row, dict):
            raise RecordError("a trial row must be a JSON object")
        unknown = sorted(set(row) - set(ROW_DEFAULTS))
        if unknown:
            raise RecordError(f"unknown field(s) {', '.join(unknown)}")
        if not _is_int(row.get("id")) or row["id"] < 0:
            raise RecordError(f"id must be an integer >= 0, got {row.get('id')!r}")
        if not isinstance(row.get("params"), dict):
            raise RecordError("params must be a table")
        status = row.get("status", TrialStatus.PENDING)
        if status not in SAVED_STATUSES:
            choices = ", ".join(SAVED_STATUSES)
            raise RecordError(f"status must be one of {choices}, got {status!r}")
        for name in ("score", "std", "duration_s"):
            if row.get(name) is not None and not _is_number(row[name]):
                raise RecordError(f"{name} must be a finite number")
        for name in ("attempts", "failures"):
            if not _is_int(row.get(name, 0)) or row.get(name, 0) < 0:
                raise RecordError(f"{name} must be an integer >= 0")
        for name in ("node", "error", "finished_at"):
            if row.get(name) is not None and not isinstance(row[name], str):
                raise RecordError(f"{name} must be a string")
        scores = row.get("fold_scores") or []
        if not isinstance(scores, list) or not all(_is_number(s) for s in scores):
            raise RecordError("fold_scores must be a list of finite numbers")
        folds = row.get("folds") or []
        if not _is_fold_list(folds) or (folds and len(folds) != len(scores)):
            raise RecordError("folds must list one fold number >= 1 per fold score")
        if status == TrialStatus.OK and row.get("score") is None:
            raise RecordError("an ok trial needs a score")
        leases = row.get("leases") or []
        if not isinstance(leases, list):
            raise RecordError("leases must be a list")
        metric_scores = row.get("scores") or {}
        if not isinstance(metric_scores, dict) or not all(
            isinstance(v, list) and all(_is_number(s) for s in v) for v in metric_scores.values()
        ):
            raise RecordError("scores must be a table of lists of finite numbers")
        return cls(
            id=row["id"],
            params=dict(row["params"]),
            status=TrialStatus(status),
            score=_float_or_none(row.get("score")),
            std=_float_or_none(row.get("std")),
            fold_scores=tuple(float(s) for s in scores),
            folds=tuple(folds),
            attempts=row.get("attempts", 0),
            failures=row.get("failures", 0),
            node=row.get("node"),
            duration_s=_float_or_none(row.get("duration_s")),
            error=row.get("error"),
            finished_at=row.get("finished_at"),
            leases=tuple(OpenLease.from_row(item) for item in leases),
            scores={str(k): tuple(float(s) for s in v) for k, v in metric_scores.items()},
            sampler_attrs=_sampler_attrs(row, warnings),
        )


def _sampler_attrs(row: dict[str, Any], warnings: list[str] | None) -> dict[str, str]:
    raw = row.get("sampler_attrs") or {}
    try:
        return sampler_state.check(raw)
    except sampler_state.SamplerStateError as exc:
        problem = f"trial {row['id']}: sampler_attrs skipped (the sampler restarts from it): {exc}"
        log.warning("%s", problem)
        if warnings is not None:
            warnings.append(problem)
        return {}


def clean_fold_scores(raw: Any) -> dict[str, tuple[float, ...]]:
    """A PROGRESS's {metric: score} for its one fold, in clean_scores' shape."""
    if not isinstance(raw, dict):
        return {}
    return clean_scores({name: [value] for name, value in raw.items()})


def clean_scores(raw: Any) -> dict[str, tuple[float, ...]]:
    """A RESULT's per-metric fold scores, keeping only well-formed entries (a node's JSON may
    hold anything, and a bad value must never make the checkpoint unreadable)."""
    if not isinstance(raw, dict):
        return {}
    return {
        str(name)[:100]: tuple(float(s) for s in values)
        for name, values in list(raw.items())[:20]
        if isinstance(values, list) and len(values) <= 1000 and all(map(_is_number, values))
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_fold_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_int(fold) and fold >= 1 for fold in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


# Every saved field with its default: what a row may hold (the checkpoint's [[trials]] keys).
ROW_DEFAULTS: dict[str, Any] = TrialRecord(id=0, params={}).to_row() | {"id": None, "params": None}
