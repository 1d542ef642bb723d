"""What happened to one unit of work (an outcome) and what the ledger made of it (a verdict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Scored:
    """A unit finished. `folds` name the folds `fold_scores` are for; empty means the node did
    not say (an older node): then the unit's own folds, and for a whole trial its mean and std."""

    node_id: str
    mean: float
    std: float
    fold_scores: tuple[float, ...]
    fit_time_s: float
    folds: tuple[int, ...] = ()
    scores: dict[str, tuple[float, ...]] = field(default_factory=dict)  # each metric's, by fold


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
    """The node lost the unit (gone, silent, past the deadline, unreachable): not the trial's
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
    RECORDED = "recorded"  # the trial's last fold is in: it scored
    PROGRESSED = "progressed"  # the unit's folds are in; other folds of the trial remain
    FAILED = "failed"  # final failure
    RETRY = "retry"  # a failure charged to the trial; its folds run again
    REQUEUED = "requeued"  # back in the queue at no cost to the trial
    DUPLICATE = "duplicate"  # nothing new: the trial or these folds were already settled


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    is_best: bool = False
    # Nodes a trial timed out or crashed on before it scored elsewhere: their fault after all.
    blamed: tuple[str, ...] = ()
    error: str = ""
    # Live leases of the trial that no longer matter (it is final, or their folds are in):
    # the core takes them back and cancels them on their nodes.
    stop_leases: tuple[str, ...] = ()
