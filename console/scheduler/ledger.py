"""The trial ledger: every trial's state, the queue of pending trials, the best result.

This is the single source of truth for what has been recorded. Recording is exactly-once: a trial
that already has a final outcome refuses another one.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from typing import Any

PENDING = "pending"
RUNNING = "running"
OK = "ok"
FAILED = "failed"
FINAL_STATUSES = frozenset({OK, FAILED})


@dataclass
class Trial:
    """One set of hyperparameters and everything that happened to it."""

    id: int
    params: dict[str, Any]
    status: str = PENDING
    score: float | None = None
    std: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    attempts: int = 0  # how many times it was dispatched
    failures: int = 0  # infrastructure failures (lost node, timeout, crash); bounded
    node: str | None = None
    duration_s: float | None = None
    error: str | None = None
    finished_at: str | None = None
    # Live only, never saved: the current lease and fold progress.
    lease_id: str | None = None
    folds_done: int = 0
    started_at: float = 0.0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_row(self) -> dict[str, Any]:
        """The saved form (a running trial is saved as pending: it will be run again)."""
        return {
            "id": self.id,
            "params": self.params,
            "status": self.status if self.is_final else PENDING,
            "score": self.score,
            "std": self.std,
            "fold_scores": list(self.fold_scores),
            "attempts": self.attempts,
            "failures": self.failures,
            "node": self.node,
            "duration_s": self.duration_s,
            "error": self.error,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Trial:
        status = row.get("status", PENDING)
        return cls(
            id=int(row["id"]),
            params=dict(row["params"]),
            status=status if status in FINAL_STATUSES else PENDING,
            score=row.get("score"),
            std=row.get("std"),
            fold_scores=list(row.get("fold_scores") or []),
            attempts=int(row.get("attempts", 0)),
            failures=int(row.get("failures", 0)),
            node=row.get("node"),
            duration_s=row.get("duration_s"),
            error=row.get("error"),
            finished_at=row.get("finished_at"),
        )


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """Trials by id, a FIFO of pending ids, and running counts kept in step with both."""

    def __init__(self) -> None:
        self.trials: dict[int, Trial] = {}
        self.queue: deque[int] = deque()
        self.best: Trial | None = None
        self.done = 0  # trials with status ok
        self.failed = 0
        self.running = 0
        self.finish_times: deque[float] = deque(maxlen=200)  # for trials/s and ETA

    def __len__(self) -> int:
        return len(self.trials)

    def add(self, trial: Trial) -> None:
        """Add a new or restored trial; pending ones join the queue."""
        self.trials[trial.id] = trial
        if trial.status == OK:
            self.done += 1
            self._consider_best(trial)
        elif trial.status == FAILED:
            self.failed += 1
        else:
            self.queue.append(trial.id)

    def next_pending(self) -> Trial | None:
        while self.queue:
            trial = self.trials[self.queue.popleft()]
            if trial.status == PENDING:
                return trial
        return None

    def mark_running(
        self, trial: Trial, lease_id: str, node_id: str, now: float, adopted_attempt: int = 0
    ) -> None:
        """A lease starts; `adopted_attempt` is set when a node already runs it (no new attempt)."""
        trial.status, trial.lease_id, trial.node = RUNNING, lease_id, node_id
        trial.attempts = (
            max(trial.attempts, adopted_attempt) if adopted_attempt else trial.attempts + 1
        )
        trial.folds_done, trial.fold_scores, trial.started_at = 0, [], now
        self.running += 1

    def requeue(self, trial: Trial, *, count_failure: bool, front: bool = True) -> None:
        """Put a running trial back in the queue (the lease is gone)."""
        if trial.status != RUNNING:
            return
        self.running -= 1
        trial.status, trial.lease_id = PENDING, None
        if count_failure:
            trial.failures += 1
        if front:  # retried work goes first, so a search's tail is not held up by it
            self.queue.appendleft(trial.id)
        else:
            self.queue.append(trial.id)

    def record_ok(self, trial: Trial, result: dict[str, Any], now: float) -> bool:
        """Record a score; returns True if it is the new best."""
        self._leave_running(trial)
        trial.status = OK
        trial.score, trial.std = float(result["mean"]), float(result["std"] or 0.0)
        trial.fold_scores = [float(s) for s in result["fold_scores"]]
        trial.node, trial.error = result["node_id"], None
        trial.duration_s = float(result["fit_time_s"])
        trial.finished_at = _now_iso()
        self.done += 1
        self.finish_times.append(now)
        return self._consider_best(trial)

    def record_failure(self, trial: Trial, node_id: str | None, error: str, now: float) -> None:
        self._leave_running(trial)
        trial.status, trial.error, trial.node = FAILED, error, node_id
        trial.finished_at = _now_iso()
        self.failed += 1
        self.finish_times.append(now)

    def retry_failed(self) -> list[int]:
        """Failed trials go back to pending with a fresh retry budget."""
        retried = [t.id for t in self.trials.values() if t.status == FAILED]
        for trial_id in retried:
            trial = self.trials[trial_id]
            trial.status, trial.error, trial.failures = PENDING, None, 0
            self.queue.append(trial_id)
        self.failed -= len(retried)
        return retried

    def unfinished(self) -> int:
        return len(self.trials) - self.done - self.failed

    def rate(self, now: float) -> float:
        """Trials finished per second over the recent window (0 when unknown)."""
        if len(self.finish_times) < 2:
            return 0.0
        span = now - self.finish_times[0]
        return (len(self.finish_times) - 1) / span if span > 0 else 0.0

    def _leave_running(self, trial: Trial) -> None:
        if trial.status == RUNNING:
            self.running -= 1
        trial.lease_id = None

    def _consider_best(self, trial: Trial) -> bool:
        # scikit-learn scorers are all "greater is better" (losses are negated: neg_*).
        if trial.score is None:
            return False
        if self.best is None or trial.score > self.best.score:  # type: ignore[operator]
            self.best = trial
            return True
        return False
