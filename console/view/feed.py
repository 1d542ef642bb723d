"""The console's side of the view: scheduler events and state turned into view messages.

The scheduler calls `PendingUpdates.add()` for every event (cheap: hundreds a second); `ViewFeed`
takes one batch per refresh (~10 a second) and makes one `Update` of it, with the changed trials
as `TrialView`s. `ViewFeed.full_state()` draws the whole search for a front end that attaches.
This is the only place that reads the ledger and the node book on a front end's behalf.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from console.records import TrialStatus
from console.scheduler import events as ev
from console.scheduler.nodes import QUARANTINE_AFTER, NodeInfo
from console.scheduler.trial import Trial
from console.search.space import Param
from console.view.event_lines import describe
from console.view.importance_watch import ImportanceWatch
from console.view.models import (
    FullState,
    HostView,
    LogLine,
    NodeDetail,
    Notice,
    SearchInfo,
    TrialView,
    Update,
)

if TYPE_CHECKING:
    from console.scheduler.core import Scheduler

CHECKPOINT_LOG_EVERY_S = 60.0  # checkpoints happen every few seconds; log one now and then
MAX_LOG_LINES_PER_BATCH = 200  # a flood of failures must not flood the log widget
RECENT_LOG_LINES = 300  # what an operator who attaches late sees of the log


@dataclass
class Batch:
    """Everything that changed since the last refresh."""

    dirty_trials: set[int] = field(default_factory=set)
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


class ViewFeed:
    """One search's view messages: `take()` an Update per refresh, `full_state()` on attach."""

    def __init__(self, scheduler: Scheduler, generation: int) -> None:
        self.scheduler = scheduler
        self.generation = generation
        self.pending = PendingUpdates()
        self.recent: deque[LogLine] = deque(maxlen=RECENT_LOG_LINES)
        self.log_total = 0  # lines sent so far: `recent` is the last of them
        self.importance = ImportanceWatch(scheduler)
        self._seq = 0

    def info(self) -> SearchInfo:
        spec = self.scheduler.spec
        return SearchInfo(
            name=spec.name,
            metric=spec.metric,
            cv=spec.cv,
            max_attempts=spec.max_attempts,
            param_names=tuple(spec.space),
            space={name: _dimension(dim) for name, dim in spec.space.items()},
            strategy=spec.strategy,
        )

    def close(self) -> None:
        """Nothing more is sent: cancel a parameter importance being computed."""
        self.importance.close()

    def take(self, host: HostView, notices: tuple[Notice, ...] = ()) -> Update:
        batch = self.pending.take()
        scheduler = self.scheduler
        trials = scheduler.ledger.trials
        max_attempts = scheduler.spec.max_attempts
        changed = [i for i in sorted(batch.dirty_trials) if i in trials]
        log = tuple(replace(line, at=scheduler.elapsed(line.at)) for line in batch.log)
        self.recent.extend(log)
        self.log_total += len(log)
        quarantine_notices = tuple(
            Notice(
                "Node quarantined",
                f"node {node_id} was at fault three times in a row: it gets no more trials. "
                "Select it and press d to release it.",
                "warning",
                15,
            )
            for node_id in batch.quarantined
        )
        error_notices = tuple(
            Notice("Scheduler error", message, "error", 10) for message in batch.errors
        )
        self._seq += 1
        return Update(
            seq=self._seq,
            now=scheduler.clock(),
            snapshot=scheduler.snapshot(),
            host=host,
            trials=tuple(trial_view(trials[i], max_attempts) for i in changed),
            log=log,
            log_overflow=batch.log_overflow,
            new_best=batch.new_best is not None,
            state=batch.state,
            notices=quarantine_notices + error_notices + notices,
            generation=self.generation,
            importance=self.importance.take_change(),
        )

    def full_state(self, host: HostView) -> FullState:
        scheduler = self.scheduler
        ledger = scheduler.ledger
        max_attempts = scheduler.spec.max_attempts
        shown = [t for t in ledger.trials.values() if t.attempts > 0 or t.is_final]
        return FullState(
            generation=self.generation,
            info=self.info(),
            trials=tuple(trial_view(t, max_attempts) for t in shown),
            log=tuple(self.recent),
            log_total=self.log_total,
            importance=self.importance.current,
            update=Update(
                seq=self._seq,
                now=scheduler.clock(),
                snapshot=scheduler.snapshot(),
                host=host,
                generation=self.generation,
            ),
        )


def trial_view(trial: Trial, max_attempts: int) -> TrialView:
    return TrialView(
        id=trial.id,
        status=str(trial.status),
        params=dict(trial.params),
        score=trial.score,
        std=trial.std,
        by_fold=dict(trial.by_fold),
        scores={name: tuple(values) for name, values in trial.scores.items()},
        node=trial.node,
        attempts=trial.attempts,
        failures=trial.failures,
        tries=charged_tries(trial, max_attempts),
        duration_s=trial.duration_s,
        error=trial.error,
        finished_at=trial.finished_at,
        started_at=trial.started_at,
    )


def charged_tries(trial: Trial, max_attempts: int) -> int:
    """The attempt the trial is on (or ended on), counting only what is charged to it.

    Timeouts and crashes (`failures`) and lost nodes (`node_losses`) each fail the trial at
    `max_attempts`; a stop, a drain or a node handing it back charges nothing, so this is what
    compares with max_attempts (`attempts` counts every dispatch).
    """
    charged = max(trial.failures, trial.node_losses)
    if trial.status == TrialStatus.FAILED and charged >= max_attempts:
        return charged  # it failed on its last allowed attempt
    return charged + 1  # the attempt running, to come, or that ended it


def node_detail(node: NodeInfo, state: str, running: list[int], seen_ago_s: float) -> NodeDetail:
    rows = [
        ("host", node.host),
        ("address", node.address or "unknown"),
        ("link", f"CURVE, key {node.key_name}" if node.key_name else "plaintext"),
        ("slots", f"{node.slots} (+{node.prefetch} prefetched)"),
        ("running", ", ".join(f"trial {t}" for t in running) or "nothing"),
        ("trials done", str(node.done)),
        ("trials failed", str(node.failed)),
        ("faults in a row", f"{node.strikes} (quarantined at {QUARANTINE_AFTER})"),
        ("proven", "yes" if node.proven else "not yet (gets one trial at a time)"),
        ("last heard", f"{seen_ago_s:.1f} s ago"),
    ]
    rows += [(f"version of {name}", str(value)[:40]) for name, value in node.versions.items()]
    return NodeDetail(
        node_id=node.node_id,
        state=state,
        rows=tuple(rows),
        quarantined=node.quarantined,
        draining=node.draining,
    )


def _dimension(param: Param) -> dict[str, Any]:
    """A search-space dimension as the search file writes it (type, range or values)."""
    return param.to_toml()
