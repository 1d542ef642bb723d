"""The trial ledger: every trial's state, the queue of pending trials, the best result, and the
one place that decides what an outcome means (`settle`): recorded, failed, retried or requeued.

Blame is decided here too. A timeout or crash is charged to the trial (it recurs for the same
parameters, so it is the trial's doing) up to `max_attempts`; the nodes it happened on are only
suspects until the trial scores elsewhere, which proves them at fault. A node that vanishes,
goes silent or sits on a lease past its deadline costs the trial nothing: that is the node's fault.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from console.records import FINAL_STATUSES, OpenLease, TrialRecord, TrialStatus

PENDING, RUNNING, OK, FAILED = (
    TrialStatus.PENDING, TrialStatus.RUNNING, TrialStatus.OK, TrialStatus.FAILED,
)  # fmt: skip
QUEUE_LOOKAHEAD = 16  # how far dispatch looks for a trial that did not fail on the node at hand


@dataclass
class Trial:
    """One set of hyperparameters and everything that happened to it."""

    id: int
    params: dict[str, Any]
    status: TrialStatus = PENDING
    score: float | None = None
    std: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    attempts: int = 0  # how many times it was dispatched
    failures: int = 0  # timeouts and crashes, charged to the trial; bounded by max_attempts
    node: str | None = None
    duration_s: float | None = None
    error: str | None = None
    finished_at: str | None = None
    scores: dict[str, list[float]] = field(default_factory=dict)  # each metric's fold scores
    # Leases issued for it and not settled: a result for any of them counts (first one wins).
    open_leases: dict[str, OpenLease] = field(default_factory=dict)
    # Live only, never saved.
    lease_id: str | None = None  # the lease it runs under now
    suspects: list[str] = field(default_factory=list)  # nodes it timed out or crashed on
    avoid: set[str] = field(default_factory=set)  # nodes that failed or lost it: retry elsewhere
    node_losses: int = 0  # proven nodes that vanished while running it
    folds_done: int = 0
    started_at: float = 0.0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def record(self) -> TrialRecord:
        """The saved form (a running trial is saved as pending, with its open leases)."""
        return TrialRecord(
            id=self.id,
            params=self.params,
            status=self.status if self.is_final else PENDING,
            score=self.score,
            std=self.std,
            fold_scores=tuple(self.fold_scores),
            attempts=self.attempts,
            failures=self.failures,
            node=self.node,
            duration_s=self.duration_s,
            error=self.error,
            finished_at=self.finished_at,
            scores=self.scores,
            leases=() if self.is_final else tuple(self.open_leases.values()),
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
            fold_scores=list(record.fold_scores),
            attempts=record.attempts,
            failures=record.failures,
            node=record.node,
            duration_s=record.duration_s,
            error=record.error,
            finished_at=record.finished_at,
            scores={name: list(values) for name, values in record.scores.items()},
            open_leases={lease.lease_id: lease for lease in record.leases},
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Trial:
        return cls.from_record(TrialRecord.from_row(row))


# -- outcomes: what happened to one lease --------------------------------------------------


@dataclass(frozen=True)
class Scored:
    node_id: str
    mean: float
    std: float
    fold_scores: tuple[float, ...]
    fit_time_s: float
    scores: dict[str, Any] = field(default_factory=dict)  # every metric's fold scores


@dataclass(frozen=True)
class Errored:
    """The estimator raised: the parameters are bad, so the trial fails at once."""

    node_id: str
    error: str


@dataclass(frozen=True)
class Broke:
    """Timed out or crashed: charged to the trial, retried (elsewhere if possible)."""

    node_id: str
    status: str  # "timeout" or "crash"
    error: str


@dataclass(frozen=True)
class NodeFault:
    """The node lost the trial (gone, silent, past the deadline, unreachable): not the trial's
    fault. `proven` nodes had delivered before; losing several of those is suspicious."""

    node_id: str
    reason: str
    proven: bool


@dataclass(frozen=True)
class HandedBack:
    """Cancelled on request or returned by a stopping node: nobody's fault."""

    reason: str


Outcome = Scored | Errored | Broke | NodeFault | HandedBack


class VerdictKind(StrEnum):
    RECORDED = "recorded"  # scored
    FAILED = "failed"  # final failure
    RETRY = "retry"  # a failure charged to the trial; it runs again
    REQUEUED = "requeued"  # back in the queue at no cost to the trial
    DUPLICATE = "duplicate"  # the trial was already settled


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    is_best: bool = False
    # Nodes a trial timed out or crashed on before it scored elsewhere: their fault after all.
    blamed: tuple[str, ...] = ()
    error: str = ""


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """Trials by id, a FIFO of pending ids, and running counts kept in step with both."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self.trials: dict[int, Trial] = {}
        self.queue: deque[int] = deque()
        self.best: Trial | None = None
        self.done = 0  # trials with status ok
        self.failed = 0
        self.running = 0
        self.finish_times: deque[float] = deque(maxlen=200)  # for trials/s and ETA

    def __len__(self) -> int:
        return len(self.trials)

    def get(self, trial_id: int) -> Trial | None:
        return self.trials.get(trial_id)

    def add(self, trial: Trial) -> None:
        """Add a new or restored trial; pending ones join the queue."""
        self.trials[trial.id] = trial
        if trial.status == OK:
            self.done += 1
            self._consider_best(trial)
        elif trial.status == FAILED:
            self.failed += 1
        else:
            trial.status = PENDING
            self.queue.append(trial.id)

    @property
    def pending(self) -> int:
        return len(self.trials) - self.done - self.failed - self.running

    def next_pending(self, avoid_node: str | None = None, strict: bool = False) -> Trial | None:
        """The next pending trial, preferring one that did not fail or get lost on
        `avoid_node` (so a retry runs elsewhere when it can); `strict`: only such a one."""
        while self.queue and self.trials[self.queue[0]].status != PENDING:
            self.queue.popleft()
        if not self.queue:
            return None
        if avoid_node is not None:
            for index in range(min(QUEUE_LOOKAHEAD, len(self.queue))):
                trial = self.trials[self.queue[index]]
                if trial.status == PENDING and avoid_node not in trial.avoid:
                    del self.queue[index]
                    return trial
            if strict:
                return None
        return self.trials[self.queue.popleft()]

    def start(self, trial: Trial, lease: OpenLease, now: float, adopted: bool = False) -> None:
        """A lease starts. An adopted one (already running on its node) is not a new attempt."""
        trial.status, trial.lease_id, trial.node = RUNNING, lease.lease_id, lease.node_id
        trial.open_leases[lease.lease_id] = lease
        trial.attempts = max(trial.attempts, lease.attempt) if adopted else trial.attempts + 1
        trial.folds_done, trial.fold_scores, trial.started_at = 0, [], now
        self.running += 1

    def settle(self, trial: Trial, outcome: Outcome, now: float) -> Verdict:
        """Apply what happened to the trial's current lease. The retry policy lives here."""
        if trial.is_final:
            return Verdict(VerdictKind.DUPLICATE)
        match outcome:
            case Scored():
                return self._record_ok(trial, outcome, now)
            case Errored(node_id=node_id, error=error):
                self._record_failure(trial, node_id, error, now)
                return Verdict(VerdictKind.FAILED, error=error)
            case Broke(node_id=node_id, status=status, error=error):
                trial.failures += 1
                trial.avoid.add(node_id)
                if node_id not in trial.suspects:
                    trial.suspects.append(node_id)
                if trial.failures >= self.max_attempts:
                    where = ", ".join(trial.suspects)
                    error = (
                        f"{error} ({status} on {trial.failures} attempt(s), on {where}: it "
                        "follows the parameters, so the trial fails and the nodes are not blamed)"
                    )
                    self._record_failure(trial, node_id, error, now)
                    return Verdict(VerdictKind.FAILED, error=error)
                self._requeue(trial)
                return Verdict(VerdictKind.RETRY, error=error)
            case NodeFault(node_id=node_id, reason=reason, proven=proven):
                trial.node_losses += int(proven)
                trial.avoid.add(node_id)
                if trial.node_losses >= self.max_attempts:
                    error = (
                        f"{trial.node_losses} nodes were lost while running it (last: {reason}); "
                        "it may be what brings them down (memory?)"
                    )
                    self._record_failure(trial, node_id, error, now)
                    return Verdict(VerdictKind.FAILED, error=error)
                self._requeue(trial)
                return Verdict(VerdictKind.REQUEUED, error=reason)
            case HandedBack(reason=reason):
                self._requeue(trial)
                return Verdict(VerdictKind.REQUEUED, error=reason)
        raise TypeError(f"unknown outcome {outcome!r}")

    def retry_failed(self) -> list[int]:
        """Failed trials go back to pending with a fresh retry budget."""
        retried = [t.id for t in self.trials.values() if t.status == FAILED]
        for trial_id in retried:
            trial = self.trials[trial_id]
            trial.status, trial.error, trial.failures, trial.node_losses = PENDING, None, 0, 0
            trial.suspects, trial.avoid = [], set()
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

    # -- internals -----------------------------------------------------------------------------

    def _requeue(self, trial: Trial) -> None:
        if trial.status == RUNNING:
            self.running -= 1
        if trial.status != PENDING:
            # Retried work goes first, so a search's tail is not held up by it.
            self.queue.appendleft(trial.id)
        trial.status, trial.lease_id = PENDING, None

    def _record_ok(self, trial: Trial, outcome: Scored, now: float) -> Verdict:
        self._leave_running(trial)
        trial.status = OK
        trial.score, trial.std = outcome.mean, outcome.std
        trial.fold_scores = list(outcome.fold_scores)
        trial.scores = {name: list(values) for name, values in outcome.scores.items()}
        trial.node, trial.error = outcome.node_id, None
        trial.duration_s = outcome.fit_time_s
        trial.finished_at = _now_iso()
        trial.open_leases.clear()
        self.done += 1
        self.finish_times.append(now)
        blamed = tuple(node for node in trial.suspects if node != outcome.node_id)
        return Verdict(VerdictKind.RECORDED, is_best=self._consider_best(trial), blamed=blamed)

    def _record_failure(self, trial: Trial, node_id: str | None, error: str, now: float) -> None:
        self._leave_running(trial)
        trial.status, trial.error, trial.node = FAILED, error, node_id
        trial.finished_at = _now_iso()
        trial.open_leases.clear()
        self.failed += 1
        self.finish_times.append(now)

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
