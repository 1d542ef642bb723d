"""One trial: its parameters, recorded fold scores, units out on nodes and saved form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from console.records import FINAL_STATUSES, OpenLease, TrialRecord, TrialStatus

PENDING = TrialStatus.PENDING


@dataclass
class Trial:
    """One set of hyperparameters and everything that happened to it."""

    id: int
    params: dict[str, Any]
    status: TrialStatus = PENDING
    score: float | None = None
    std: float | None = None
    by_fold: dict[int, float] = field(default_factory=dict)  # recorded fold scores
    # With several metrics: each one's recorded fold scores, {metric: {fold: score}}.
    metric_by_fold: dict[str, dict[int, float]] = field(default_factory=dict)
    attempts: int = 0  # dispatches of its most-tried fold
    failures: int = 0  # timeouts and crashes, charged to the trial; bounded by max_attempts
    node: str | None = None
    duration_s: float | None = None
    error: str | None = None
    finished_at: str | None = None
    # Leases issued for it and not settled: a result for any of them counts (first one wins).
    open_leases: dict[str, OpenLease] = field(default_factory=dict)
    # The sampler's state on it, from the strategy when it was told (records.TrialRecord).
    sampler_attrs: dict[str, str] = field(default_factory=dict)
    # Live only, never saved.
    live: dict[str, tuple[int, ...]] = field(default_factory=dict)  # running units' folds
    fold_tries: dict[int, int] = field(default_factory=dict)  # dispatches of each fold
    restored_tries: int = 0  # dispatches before a restart: what each fold had (not saved by fold)
    suspects: list[str] = field(default_factory=list)  # nodes it timed out or crashed on
    avoid: set[str] = field(default_factory=set)  # nodes that failed or lost it: retry elsewhere
    node_losses: int = 0  # proven nodes that vanished while running it
    fit_s: float = 0.0  # fit time of the units that scored
    judged: int = 0  # how many folds it had when the pruner last judged it
    started_at: float = 0.0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def folds_done(self) -> int:
        return len(self.by_fold)

    @property
    def fold_scores(self) -> list[float]:
        """Recorded fold scores in fold order."""
        return [self.by_fold[fold] for fold in sorted(self.by_fold)]

    @property
    def scores(self) -> dict[str, list[float]]:
        """Each metric's fold scores in fold order, for the metrics recorded for every fold."""
        folds = sorted(self.by_fold)
        return {
            name: [by_fold[fold] for fold in folds]
            for name, by_fold in self.metric_by_fold.items()
            if all(fold in by_fold for fold in folds)
        }

    @property
    def running_mean(self) -> float | None:
        return float(np.mean(self.fold_scores)) if self.by_fold else None

    def undispatched(self, n_folds: int) -> list[int]:
        """Folds neither recorded nor running now, in order."""
        running = {fold for folds in self.live.values() for fold in folds}
        return [f for f in range(1, n_folds + 1) if f not in self.by_fold and f not in running]

    def next_attempt(self, folds: Iterable[int]) -> int:
        return 1 + max((self.tries_of(fold) for fold in folds), default=0)

    def tries_of(self, fold: int) -> int:
        return self.fold_tries.get(fold, self.restored_tries)

    def issued_to(self, lease_id: str, node_id: str) -> bool:
        """Did this console issue `lease_id` for this trial to `node_id`?"""
        lease = self.open_leases.get(lease_id)
        return lease is not None and lease.node_id == node_id

    def record(self) -> TrialRecord:
        """The saved form (a running trial is saved as pending, with its open leases)."""
        folds = tuple(sorted(self.by_fold))
        in_order = folds == tuple(range(1, len(folds) + 1))
        return TrialRecord(
            id=self.id,
            params=self.params,
            status=self.status if self.is_final else PENDING,
            score=self.score,
            std=self.std,
            fold_scores=tuple(self.fold_scores),
            folds=() if in_order else folds,
            attempts=self.attempts,
            failures=self.failures,
            node=self.node,
            duration_s=self.duration_s,
            error=self.error,
            finished_at=self.finished_at,
            leases=() if self.is_final else tuple(self.open_leases.values()),
            scores={name: tuple(values) for name, values in self.scores.items()},
            sampler_attrs=self.sampler_attrs,
        )

    def to_row(self) -> dict[str, Any]:
        return self.record().to_row()

    @classmethod
    def from_record(cls, record: TrialRecord) -> Trial:
        return cls(
            id=record.id,
            params=dict(record.params),
            status=TrialStatus(record.status),
            score=record.score,
            std=record.std,
            by_fold=record.scores_by_fold(),
            attempts=record.attempts,
            failures=record.failures,
            node=record.node,
            duration_s=record.duration_s,
            error=record.error,
            finished_at=record.finished_at,
            open_leases={lease.lease_id: lease for lease in record.leases},
            restored_tries=record.attempts,
            metric_by_fold=_metric_by_fold(record),
            sampler_attrs=dict(record.sampler_attrs),
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Trial:
        return cls.from_record(TrialRecord.from_row(row))


def _metric_by_fold(record: TrialRecord) -> dict[str, dict[int, float]]:
    numbers = record.folds or tuple(range(1, len(record.fold_scores) + 1))
    return {
        name: dict(zip(numbers, values, strict=False)) for name, values in record.scores.items()
    }
