"""What a front end sees of a search: plain frozen data, the same in-process and over the socket.

The TUI is fed only these (see console/attach): a `FullState` when it attaches (or the search
changes), then an `Update` about ten times a second. Nothing here refers to the scheduler, so a
widget that imports this module cannot reach into the ledger or the node book.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A stall is shown once it has lasted this long: a few seconds between a node leaving and the
# next joining is normal, not a stall.
STALL_REPORT_AFTER_S = 5.0


@dataclass(frozen=True)
class NodeView:
    node_id: str
    host: str
    state: str
    slots: int
    busy: int
    done: int
    failed: int
    last_seen_age_s: float


@dataclass(frozen=True)
class Snapshot:
    name: str
    strategy: str
    state: str
    planned: int
    done: int
    failed: int
    running: int
    pending: int
    rate_per_s: float
    eta_s: float | None
    elapsed_s: float
    best_trial: int | None
    best_score: float | None
    best_std: float | None
    best_params: dict[str, Any] | None
    best_node: str | None
    nodes: tuple[NodeView, ...]
    dropped_messages: int
    checkpoint: str
    endpoint: str
    link: str  # "CURVE", "INSECURE" (plaintext beyond loopback) or "" (plaintext on loopback)
    refused_connections: int
    stall_reason: str | None = None  # work remains and no node can take it: why
    stalled_for_s: float = 0.0
    pruned: int = 0  # stopped early by the pruner: finished, never complete
    best_found_s: float | None = None  # search time when the best trial was recorded

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.pruned


@dataclass(frozen=True)
class TrialView:
    """One trial as the table and its detail show it."""

    id: int
    status: str
    params: dict[str, Any]
    score: float | None = None
    std: float | None = None
    by_fold: dict[int, float] = field(default_factory=dict)
    scores: dict[str, tuple[float, ...]] = field(default_factory=dict)  # every metric's folds
    node: str | None = None
    attempts: int = 0  # every dispatch
    failures: int = 0  # timeouts and crashes, charged to it
    tries: int = 1  # the charged attempt it is on or ended on (compares with max_attempts)
    duration_s: float | None = None
    error: str | None = None
    finished_at: str | None = None
    started_at: float = 0.0  # on the console's clock (Update.now), while it runs

    @property
    def folds_done(self) -> int:
        return len(self.by_fold)

    @property
    def fold_scores(self) -> list[float]:
        return [self.by_fold[fold] for fold in sorted(self.by_fold)]

    @property
    def running_mean(self) -> float | None:
        scores = self.fold_scores
        return sum(scores) / len(scores) if scores else None

    @property
    def is_final(self) -> bool:
        return self.status in ("ok", "failed", "pruned")

    @property
    def ever_started(self) -> bool:
        return self.attempts > 0 or self.is_final


@dataclass(frozen=True)
class NodeDetail:
    """Everything about one node, for its detail screen (asked for, not streamed)."""

    node_id: str
    state: str
    rows: tuple[tuple[str, str], ...]  # (name, value), in order
    quarantined: bool = False
    draining: bool = False


@dataclass(frozen=True)
class TrialDetail:
    trial: TrialView
    on_front: bool = False  # on the Pareto front of the search's objectives


@dataclass(frozen=True)
class SearchInfo:
    """What does not change while one search runs."""

    name: str
    metric: str
    cv: int
    max_attempts: int
    param_names: tuple[str, ...]
    space: dict[str, Any] = field(default_factory=dict)  # name -> {"kind", "low", ...}: insight
    strategy: str = ""


@dataclass(frozen=True)
class Importance:
    """How much each hyperparameter matters to the score (Optuna's PED-ANOVA), as of `over`
    scored trials; `note` says why there is none yet, or what went wrong."""

    ranked: tuple[tuple[str, float], ...] = ()  # (parameter, share), most important first
    over: int = 0
    note: str = ""


@dataclass(frozen=True)
class HostView:
    """The console process around the search: what its front ends need besides the search."""

    failure: str | None = None  # why the search stopped on an error, if it did
    exporting: bool = False
    exported: tuple[int, str] | None = None  # (trial id, object URL) last exported
    local_nodes: tuple[str, ...] = ()  # the local nodes running, oldest first
    serving: bool = False  # the scheduler's loop is running
    attach_address: str = ""  # where operators attach (the Unix socket)
    operators: int = 0  # front ends attached, this one included
    headless: bool = False  # the process ends with its search: a stop exits it (no `r` then)


@dataclass(frozen=True)
class LogLine:
    at: float  # search time
    text: str
    severity: str  # "info", "good", "warning", "error"


@dataclass(frozen=True)
class Notice:
    """A toast for every operator: a finished search, an export, a quarantined node."""

    title: str
    text: str
    severity: str = "information"  # Textual's: information, warning, error
    timeout: float = 10.0


@dataclass(frozen=True)
class Update:
    """What changed since the last one (about a tenth of a second)."""

    seq: int
    now: float  # the console's clock, for running trials' elapsed time
    snapshot: Snapshot
    host: HostView
    trials: tuple[TrialView, ...] = ()  # the trials that changed, as they are now
    log: tuple[LogLine, ...] = ()
    log_overflow: int = 0
    new_best: bool = False
    state: str | None = None  # the search's state, if it changed
    notices: tuple[Notice, ...] = ()
    generation: int = 0  # which search (FullState.generation) this belongs to
    importance: Importance | None = None  # only when it changed


@dataclass(frozen=True)
class FullState:
    """Everything a front end needs to draw a search from nothing."""

    generation: int  # changes when the console opens another search
    info: SearchInfo
    trials: tuple[TrialView, ...]
    log: tuple[LogLine, ...]  # the recent log, for an operator who attaches late
    update: Update  # the current snapshot and host view (its lists empty)
    importance: Importance = Importance()
    log_total: int = 0  # lines this search has logged: `log` is the last of them


@dataclass(frozen=True)
class Reply:
    """The answer to one command: done or refused, and why; a query's answer in `detail`."""

    ok: bool
    message: str = ""
    detail: TrialDetail | NodeDetail | None = None
    title: str = ""  # for a refusal's toast, e.g. "Pre-flight check failed"
