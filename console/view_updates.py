"""Coalesces scheduler events between screen refreshes, so hundreds a second stay cheap.

The scheduler calls `add()` for every event; the app takes one `Batch` per refresh (~10 a second)
and hands each widget only what changed. The full history stays in the scheduler's ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.headless import describe
from console.scheduler import events as ev

CHECKPOINT_LOG_EVERY_S = 60.0  # checkpoints happen every few seconds; log one now and then
MAX_LOG_LINES_PER_BATCH = 200  # a flood of failures must not flood the log widget


@dataclass
class LogLine:
    at: float
    text: str
    severity: str  # "info", "good", "warning", "error"


@dataclass
class Batch:
    """Everything that changed since the last refresh."""

    dirty_trials: set[int] = field(default_factory=set)
    scores: list[float] = field(default_factory=list)  # finished trials' scores, in order
    log: list[LogLine] = field(default_factory=list)
    new_best: ev.TrialScored | None = None
    state: str | None = None  # the latest SearchStateChanged, if any
    errors: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # node ids, worth a toast
    log_overflow: int = 0


class PendingUpdates:
    """The scheduler's `on_event` sink: cheap to call, drained by `take()`."""

    def __init__(self) -> None:
        self._batch = Batch()
        self._last_checkpoint_log = float("-inf")

    def add(self, event: ev.Event) -> None:
        batch = self._batch
        match event:
            case ev.TrialProgressed() | ev.TrialDispatched() | ev.TrialRequeued():
                batch.dirty_trials.add(event.trial_id)
            case ev.TrialScored():
                batch.dirty_trials.add(event.trial_id)
                batch.scores.append(event.score)
                if event.is_best:
                    batch.new_best = event
            case ev.TrialFailed() | ev.TrialPruned():
                batch.dirty_trials.add(event.trial_id)
            case ev.SearchStateChanged():
                batch.state = event.state
            case ev.SchedulerError():
                batch.errors.append(event.message)
            case ev.NodeQuarantined():
                batch.quarantined.append(event.node_id)
            case ev.Checkpointed():
                if event.at - self._last_checkpoint_log < CHECKPOINT_LOG_EVERY_S:
                    return
                self._last_checkpoint_log = event.at
                self.log(event.at, f"checkpoint saved: {event.path} ({event.trials_done} scored)")
                return
        text = describe(event)
        if text is not None:
            self.log(event.at, text, _severity(event))

    def log(self, at: float, text: str, severity: str = "info") -> None:
        batch = self._batch
        if len(batch.log) >= MAX_LOG_LINES_PER_BATCH:
            batch.log_overflow += 1
        else:
            batch.log.append(LogLine(at, text, severity))

    def note_checkpoint_logged(self, at: float) -> None:
        """An explicit save was logged by the app; the periodic line can wait."""
        self._last_checkpoint_log = at

    def take(self) -> Batch:
        batch, self._batch = self._batch, Batch()
        return batch


def _severity(event: ev.Event) -> str:
    match event:
        case ev.NodeJoined(warning=str()):
            return "warning"
        case ev.TrialScored(is_best=True) | ev.NodeJoined():
            return "good"
        case ev.TrialFailed(final=True) | ev.SchedulerError() | ev.NodeQuarantined():
            return "error"
        case (
            ev.TrialFailed()
            | ev.NodeLost()
            | ev.TrialRequeued()
            | ev.MessageDropped()
            | ev.ConnectionRefused()
        ):
            return "warning"
    return "info"
