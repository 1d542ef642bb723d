"""A front end's copy of the search, kept from the view messages it is sent.

`apply()` takes each FullState and Update as it arrives; the TUI takes one `ViewBatch` per refresh
(what changed since the last) and reads the rest (trials, snapshot) from the mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.view.models import (
    FullState,
    HostView,
    Importance,
    LogLine,
    Notice,
    SearchInfo,
    Snapshot,
    TrialView,
    Update,
)


@dataclass
class ViewBatch:
    """Everything that changed since the last refresh."""

    reset: bool = False  # a new FullState (attached, or another search): redraw everything
    dirty: set[int] = field(default_factory=set)
    log: list[LogLine] = field(default_factory=list)
    log_overflow: int = 0
    new_best: bool = False
    state: str | None = None
    notices: list[Notice] = field(default_factory=list)
    importance: bool = False  # a new parameter importance arrived


class SearchMirror:
    def __init__(self) -> None:
        self.info: SearchInfo | None = None
        self.trials: dict[int, TrialView] = {}
        self.update: Update | None = None
        self.importance = Importance()
        self.generation = -1
        self._log_seen = 0  # this search's log lines received, for a resync to skip
        self._batch = ViewBatch()

    @property
    def ready(self) -> bool:
        return self.update is not None

    @property
    def snapshot(self) -> Snapshot:
        assert self.update is not None
        return self.update.snapshot

    @property
    def host(self) -> HostView:
        return self.update.host if self.update is not None else HostView()

    @property
    def now(self) -> float:
        return self.update.now if self.update is not None else 0.0

    def apply(self, message: FullState | Update) -> bool:
        """Take one message; False when an update went missing (ask for a FullState)."""
        if isinstance(message, FullState):
            log = list(message.log)
            if message.generation == self.generation:  # a resync: the log shows most already
                unseen = min(len(log), max(0, message.log_total - self._log_seen))
                log = log[len(log) - unseen :]
            self.info = message.info
            self.generation = message.generation
            self.trials = {t.id: t for t in message.trials}
            self.update = message.update
            self.importance = message.importance
            self._log_seen = message.log_total
            # Lines and notices received but not yet drawn stay: they come before the rest.
            pending = self._batch
            self._batch = ViewBatch(reset=True, log=pending.log + log, notices=pending.notices)
            self._batch.log_overflow = pending.log_overflow
            self._batch.state = message.update.snapshot.state
            return True
        if message.generation != self.generation or self.update is None:
            return True  # another search's: its FullState is on the way
        if message.seq != self.update.seq + 1:
            return False
        self.update = message
        batch = self._batch
        for trial in message.trials:
            self.trials[trial.id] = trial
            batch.dirty.add(trial.id)
        batch.log.extend(message.log)
        self._log_seen += len(message.log)
        batch.log_overflow += message.log_overflow
        batch.new_best |= message.new_best
        batch.state = message.state or batch.state
        batch.notices.extend(message.notices)
        if message.importance is not None:
            self.importance = message.importance
            batch.importance = True
        return True

    def take(self) -> ViewBatch:
        batch, self._batch = self._batch, ViewBatch()
        return batch
