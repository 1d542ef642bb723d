"""The trial ledger: every trial's state and recorded folds, the queue of trials with folds left
to dispatch, the best result, and the one place that decides what an outcome means (`settle`).

Work goes out in units: some CV folds of one trial, each under its own lease. A fold's score is
recorded once (the first report wins); a trial is recorded once, when its last fold is in.

Blame is decided here too. A timeout or crash is charged to the trial (it recurs for the same
parameters, so it is the trial's doing) up to `max_attempts`; the nodes it happened on are only
suspects until the trial scores elsewhere, which proves them at fault. A node that vanishes,
goes silent or sits on a lease past its deadline costs the trial nothing: that is the node's fault.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Callable

import numpy as np

from console.records import OpenLease, TrialStatus
from console.scheduler.outcomes import (
    Broke,
    Errored,
    HandedBack,
    NodeFault,
    Outcome,
    Scored,
    Verdict,
    VerdictKind,
)
from console.scheduler.trial import Trial

__all__ = ["Broke", "Errored", "HandedBack", "Ledger", "NodeFault", "Outcome", "Scored", "Trial"]

PENDING, RUNNING, OK, FAILED, PRUNED = (
    TrialStatus.PENDING, TrialStatus.RUNNING, TrialStatus.OK, TrialStatus.FAILED,
    TrialStatus.PRUNED,
)  # fmt: skip
QUEUE_LOOKAHEAD = 16  # how far dispatch looks for a trial that did not fail on the node at hand


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """Trials by id, a FIFO of trials with folds to dispatch, and counts kept in step."""

    def __init__(self, max_attempts: int = 3, n_folds: int = 1) -> None:
        self.max_attempts = max_attempts
        self.n_folds = n_folds  # CV folds per trial
        self.trials: dict[int, Trial] = {}
        self.queue: deque[int] = deque()
        self.best: Trial | None = None
        self.done = 0  # trials with status ok
        self.failed = 0
        self.pruned = 0
        self.running = 0  # trials with a unit out on a node
        self.finish_times: deque[float] = deque(maxlen=200)  # for trials/s and ETA

    def __len__(self) -> int:
        return len(self.trials)

    def get(self, trial_id: int) -> Trial | None:
        return self.trials.get(trial_id)

    def add(self, trial: Trial) -> None:
        """Add a new or restored trial; unfinished ones join the queue."""
        self.trials[trial.id] = trial
        if trial.status == OK:
            self.done += 1
            self._consider_best(trial)
        elif trial.status == FAILED:
            self.failed += 1
        elif trial.status == PRUNED:
            self.pruned += 1
        else:
            trial.status = PENDING
            self.queue.append(trial.id)

    @property
    def pending(self) -> int:
        """Unfinished trials with nothing running."""
        return self.unfinished() - self.running

    def next_pending(
        self,
        avoid_node: str | None = None,
        strict: bool = False,
        ready: Callable[[Trial], bool] | None = None,
    ) -> Trial | None:
        """The next trial with folds to dispatch, preferring one that did not fail or get lost
        on `avoid_node` (so a retry runs elsewhere when it can); `strict`: only such a one.
        The trial leaves the queue; `requeue` puts it back while it has folds left."""
        while self.queue and not self._has_work(self.trials[self.queue[0]]):
            self.queue.popleft()
        if not self.queue:
            return None
        if avoid_node is not None:
            for index in range(min(QUEUE_LOOKAHEAD, len(self.queue))):
                trial = self.trials[self.queue[index]]
                if self._has_work(trial) and avoid_node not in trial.avoid:
                    del self.queue[index]
                    return trial
            if strict:
                return None
        return self.trials[self.queue.popleft()]

    def requeue(self, trial: Trial) -> None:
        """First in line again (retries and started trials go first, so the tail is short)."""
        if self._has_work(trial) and trial.id not in self.queue:
            self.queue.appendleft(trial.id)

    def start(self, trial: Trial, lease: OpenLease, now: float, adopted: bool = False) -> None:
        """A unit starts. An adopted one (already running on its node) is not a new attempt."""
        folds = lease.folds or tuple(range(1, self.n_folds + 1))
        if not trial.live:
            self.running += 1
            trial.started_at = now
        trial.status, trial.node = RUNNING, lease.node_id
        trial.live[lease.lease_id] = folds
        trial.open_leases[lease.lease_id] = lease
        for fold in folds:
            tries = trial.tries_of(fold)
            trial.fold_tries[fold] = max(tries, lease.attempt) if adopted else tries + 1
        trial.attempts = max(trial.attempts, *trial.fold_tries.values())

    def record_folds(self, trial: Trial, scores: dict[int, float]) -> list[int]:
        """Record fold scores not recorded yet (first report wins); the folds that were new."""
        if trial.is_final:
            return []
        new = [f for f in sorted(scores) if f not in trial.by_fold and 0 < f <= self.n_folds]
        for fold in new:
            trial.by_fold[fold] = scores[fold]
        return new

    def record_metrics(
        self, trial: Trial, folds: tuple[int, ...], scores: dict[str, tuple[float, ...]]
    ) -> None:
        """Each metric's score for these folds, where not recorded yet (several metrics only)."""
        if trial.is_final:
            return
        for name, values in scores.items():
            recorded = trial.metric_by_fold.setdefault(name, {})
            for fold, value in zip(folds, values, strict=False):
                recorded.setdefault(fold, value)

    def settle(self, trial: Trial, lease_id: str, outcome: Outcome, now: float) -> Verdict:
        """Apply what happened to one unit of the trial. The retry policy lives here."""
        if trial.is_final:
            return Verdict(VerdictKind.DUPLICATE)
        lease = trial.open_leases.get(lease_id)
        was_live = lease_id in trial.live
        folds = (
            trial.live.pop(lease_id, None)
            or (lease.folds if lease else ())
            or tuple(range(1, self.n_folds + 1))
        )
        if not trial.live and trial.status == RUNNING:
            self.running -= 1
            trial.status = PENDING
        match outcome:
            case Scored():
                return self._on_scored(trial, folds, outcome, was_live, now)
            case Errored(node_id=node_id, error=error):
                return self._fail(trial, node_id, error, now)
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
                    return self._fail(trial, node_id, error, now)
                return self._back_in_line(trial, VerdictKind.RETRY, error, now)
            case NodeFault(node_id=node_id, reason=reason, proven=proven):
                trial.node_losses += int(proven)
                trial.avoid.add(node_id)
                if trial.node_losses >= self.max_attempts:
                    error = (
                        f"{trial.node_losses} nodes were lost while running it (last: {reason}); "
                        "it may be what brings them down (memory?)"
                    )
                    return self._fail(trial, node_id, error, now)
                return self._back_in_line(trial, VerdictKind.REQUEUED, reason, now)
            case HandedBack(reason=reason):
                return self._back_in_line(trial, VerdictKind.REQUEUED, reason, now)
        raise TypeError(f"unknown outcome {outcome!r}")

    def prune(self, trial: Trial, reason: str, now: float) -> Verdict:
        """The pruner stopped it: final, with its partial fold scores, never the best."""
        stop = self._finish(trial, PRUNED, now)
        trial.error, trial.duration_s = reason, trial.fit_s
        self.pruned += 1
        return Verdict(VerdictKind.FAILED, error=reason, stop_leases=stop)

    def retry_failed(self) -> list[int]:
        """Failed trials go back to pending with a fresh retry budget."""
        retried = [t.id for t in self.trials.values() if t.status == FAILED]
        for trial_id in retried:
            trial = self.trials[trial_id]
            trial.status, trial.error, trial.failures, trial.node_losses = PENDING, None, 0, 0
            trial.suspects, trial.avoid, trial.finished_at = [], set(), None
            self.queue.append(trial_id)
        self.failed -= len(retried)
        return retried

    def unfinished(self) -> int:
        return len(self.trials) - self.done - self.failed - self.pruned

    def rate(self, now: float) -> float:
        """Trials finished per second over the recent window (0 when unknown)."""
        if len(self.finish_times) < 2:
            return 0.0
        span = now - self.finish_times[0]
        return (len(self.finish_times) - 1) / span if span > 0 else 0.0

    # -- internals -----------------------------------------------------------------------------

    def _has_work(self, trial: Trial) -> bool:
        return not trial.is_final and bool(trial.undispatched(self.n_folds))

    def _on_scored(
        self, trial: Trial, folds: tuple[int, ...], outcome: Scored, was_live: bool, now: float
    ) -> Verdict:
        whole = not outcome.folds and set(folds) == set(range(1, self.n_folds + 1))
        numbers = outcome.folds or folds
        scores = dict(zip(numbers, outcome.fold_scores, strict=False))
        new = self.record_folds(trial, {f: s for f, s in scores.items() if f in folds})
        unit = tuple(fold for fold in numbers if fold in folds)
        self.record_metrics(
            trial, unit, {name: tuple(v for f, v in zip(numbers, vals, strict=False) if f in folds)
                          for name, vals in outcome.scores.items()},
        )  # fmt: skip
        if was_live or new:  # the run that counts (its folds may have come by PROGRESS)
            trial.fit_s += outcome.fit_time_s
            trial.node = outcome.node_id
        if whole and not trial.by_fold.keys() - scores.keys():
            # A node that reports a whole trial without fold numbers: its mean is the score.
            return self._record_ok(trial, outcome.node_id, outcome.mean, outcome.std, now)
        kind = VerdictKind.PROGRESSED if new or was_live else VerdictKind.DUPLICATE
        return self._back_in_line(trial, kind, "" if new else "folds already in", now)

    def _back_in_line(self, trial: Trial, kind: VerdictKind, why: str, now: float) -> Verdict:
        """The unit is over; the trial is recorded if every fold is in, else waits in line.
        Units still running folds that are all in by now are taken back (to be cancelled)."""
        stop = tuple(
            lease_id
            for lease_id, folds in trial.live.items()
            if all(fold in trial.by_fold for fold in folds)
        )
        for lease_id in stop:
            del trial.live[lease_id]
        if stop and not trial.live and trial.status == RUNNING:
            self.running -= 1
            trial.status = PENDING
        if len(trial.by_fold) >= self.n_folds and not trial.live:
            scores = trial.fold_scores
            # numpy's mean and std over the folds in order: what cross_val_score reports.
            mean, std = float(np.mean(scores)), float(np.std(scores))
            verdict = self._record_ok(trial, trial.node or "", mean, std, now)
            return dataclasses.replace(verdict, stop_leases=stop + verdict.stop_leases)
        self.requeue(trial)
        return Verdict(kind, error=why, stop_leases=stop)

    def _record_ok(
        self, trial: Trial, node_id: str, mean: float, std: float, now: float
    ) -> Verdict:
        stop = self._finish(trial, OK, now)
        trial.score, trial.std = mean, std
        trial.node, trial.error = node_id, None
        trial.duration_s = trial.fit_s
        self.done += 1
        blamed = tuple(node for node in trial.suspects if node != node_id)
        return Verdict(
            VerdictKind.RECORDED,
            is_best=self._consider_best(trial),
            blamed=blamed,
            stop_leases=stop,
        )

    def _fail(self, trial: Trial, node_id: str | None, error: str, now: float) -> Verdict:
        stop = self._finish(trial, FAILED, now)
        trial.error, trial.node = error, node_id
        self.failed += 1
        return Verdict(VerdictKind.FAILED, error=error, stop_leases=stop)

    def _finish(self, trial: Trial, status: TrialStatus, now: float) -> tuple[str, ...]:
        """Make the trial final; its units still running are returned, to be cancelled."""
        stop = tuple(trial.live)
        if trial.live:
            self.running -= 1
        trial.live.clear()
        trial.status = status
        trial.finished_at = _now_iso()
        trial.open_leases.clear()
        self.finish_times.append(now)
        return stop

    def _consider_best(self, trial: Trial) -> bool:
        # scikit-learn scorers are all "greater is better" (losses are negated: neg_*).
        if trial.score is None or trial.status != OK:
            return False
        if self.best is None or trial.score > self.best.score:  # type: ignore[operator]
            self.best = trial
            return True
        return False
