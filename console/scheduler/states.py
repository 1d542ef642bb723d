"""The states a search and a node can be in (StrEnums: they compare equal to their names)."""

from __future__ import annotations

from enum import StrEnum

from console.records import FINAL_STATUSES, TrialStatus

__all__ = ["FINAL_STATUSES", "NodeState", "SearchState", "TrialStatus"]


class SearchState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class NodeState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    DRAINING = "draining"  # finishes its trials, gets no more
    DRAINED = "drained"  # draining, and nothing left running
    QUARANTINED = "quarantined"  # too many faults in a row: no work until released
    LOST = "lost"  # went silent or could not be sent to; may come back
    LEFT = "left"  # said BYE
