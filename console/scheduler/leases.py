"""The lease table: every unit of work out on a node, as one record per live lease.

A lease is the console's promise to wait for one node's result for one unit, some CV folds of one
trial, until a deadline. It is keyed by its id; the indexes by node and by trial answer "what does
this node hold" and "where do this trial's folds run" without a second copy of the truth.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Lease:
    id: str
    trial_id: int
    node_id: str
    attempt: int
    deadline: float  # the console's backstop: the node enforces the trial's own timeout
    folds: tuple[int, ...] = ()  # the CV folds this unit runs (1-based)
    adopted: bool = False  # taken over from a node's HELLO after a console restart


def new_lease_id() -> str:
    """Unguessable, so a peer cannot claim a result for a lease it was never given."""
    return secrets.token_hex(8)


class LeaseTable:
    def __init__(self) -> None:
        self._by_id: dict[str, Lease] = {}
        self._by_node: dict[str, dict[str, Lease]] = {}
        self._by_trial: dict[int, dict[str, Lease]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Lease]:
        return iter(list(self._by_id.values()))

    def get(self, lease_id: str) -> Lease | None:
        return self._by_id.get(lease_id)

    def add(self, lease: Lease) -> None:
        self._by_id[lease.id] = lease
        self._by_node.setdefault(lease.node_id, {})[lease.id] = lease
        self._by_trial.setdefault(lease.trial_id, {})[lease.id] = lease

    def remove(self, lease_id: str) -> Lease | None:
        lease = self._by_id.pop(lease_id, None)
        if lease is not None:
            _unindex(self._by_node, lease.node_id, lease_id)
            _unindex(self._by_trial, lease.trial_id, lease_id)
        return lease

    def of_node(self, node_id: str) -> list[Lease]:
        return list(self._by_node.get(node_id, {}).values())

    def count(self, node_id: str) -> int:
        return len(self._by_node.get(node_id, ()))

    def of_trial(self, trial_id: int) -> list[Lease]:
        return list(self._by_trial.get(trial_id, {}).values())

    def expired(self, now: float) -> list[Lease]:
        return [lease for lease in self._by_id.values() if now > lease.deadline]


def _unindex(index: dict, key: object, lease_id: str) -> None:
    held = index.get(key)
    if held is not None:
        held.pop(lease_id, None)
        if not held:
            del index[key]
