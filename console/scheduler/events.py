"""Events the scheduler reports to its front ends (TUI, headless). Frozen, past tense."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """Base class: every event carries the scheduler's clock (time.monotonic())."""

    at: float


@dataclass(frozen=True, slots=True)
class NodeJoined(Event):
    node_id: str
    host: str  # the host name the node reports
    address: str  # the IP address it connected from
    slots: int
    rejoined: bool
    # Set when the node's scikit-learn or zmq-hpo differs from the console's: its scores may not
    # be comparable with the others'.
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class NodeLost(Event):
    node_id: str
    reason: str  # "silent", "bye", "send failed", "restarted"
    requeued: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NodeQuarantined(Event):
    """It was at fault `strikes` times in a row: it gets no more work until released
    (drain(node, False))."""

    node_id: str
    strikes: int
    last_failure: str


@dataclass(frozen=True, slots=True)
class TrialDispatched(Event):
    trial_id: int
    node_id: str
    attempt: int
    params: dict[str, Any]
    adopted: bool = False  # already running on that node (e.g. across a console restart)


@dataclass(frozen=True, slots=True)
class TrialProgressed(Event):
    trial_id: int
    node_id: str
    fold: int
    folds: int
    score: float


@dataclass(frozen=True, slots=True)
class TrialScored(Event):
    trial_id: int
    node_id: str
    score: float
    std: float
    duration_s: float
    is_best: bool


@dataclass(frozen=True, slots=True)
class TrialFailed(Event):
    trial_id: int
    node_id: str | None
    status: str  # error, timeout, crash, lost
    error: str
    final: bool  # False: it goes back to the queue for another attempt


@dataclass(frozen=True, slots=True)
class TrialPruned(Event):
    """The pruner judged it could no longer matter after `folds_done` folds: stopped, final."""

    trial_id: int
    folds_done: int
    folds: int
    running_mean: float
    cancelled: int  # its units that were still running, cancelled now


@dataclass(frozen=True, slots=True)
class TrialRequeued(Event):
    trial_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class SearchStateChanged(Event):
    state: str  # running, paused, stopping, stopped, finished


@dataclass(frozen=True, slots=True)
class Checkpointed(Event):
    path: str
    trials_done: int


@dataclass(frozen=True, slots=True)
class MessageDropped(Event):
    """Bad messages are reported a few at a time per peer, then summed up once a minute:
    `repeats` is how many this report stands for."""

    peer: str
    reason: str
    total_dropped: int
    repeats: int = 1


@dataclass(frozen=True, slots=True)
class SearchStalled(Event):
    """Work remains and no node can take it (`reason` says why); `reason` None: it can again."""

    reason: str | None
    since: float  # the clock when the stall began


@dataclass(frozen=True, slots=True)
class SearchWarning(Event):
    """Something the operator should know that is not a failure (e.g. a skipped journal line)."""

    message: str


@dataclass(frozen=True, slots=True)
class ConnectionRefused(Event):
    """A peer failed the CURVE handshake or its key is not allow-listed. Repeats from one peer
    are counted rather than each reported: `repeats` is how many since the last report."""

    peer: str  # its address, as libzmq saw it
    reason: str
    repeats: int = 1


@dataclass(frozen=True, slots=True)
class SchedulerError(Event):
    message: str
