"""A read-only picture of a running search, for front ends and tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.scheduler.core import Scheduler


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


def take_snapshot(s: Scheduler) -> Snapshot:
    now = s.clock()
    core = s.core
    ledger = s.ledger
    finished = ledger.done + ledger.failed + ledger.pruned
    remaining = max(0, s.planned - finished)
    # A finished search's rate is what it was at the end, not one that decays as time passes.
    ended = str(s.state) == "finished" and ledger.finish_times
    rate = ledger.rate(ledger.finish_times[-1] if ended else now)
    found = s.best_found
    best = ledger.best
    return Snapshot(
        name=s.spec.name,
        strategy=s.spec.strategy,
        state=str(s.state),
        planned=s.planned,
        done=ledger.done,
        failed=ledger.failed,
        pruned=ledger.pruned,
        running=ledger.running,
        pending=max(0, s.planned - finished - ledger.running),
        rate_per_s=rate,
        eta_s=remaining / rate if rate > 0 else None,
        elapsed_s=s.elapsed(now),
        best_trial=best.id if best else None,
        best_score=best.score if best else None,
        best_std=best.std if best else None,
        best_params=dict(best.params) if best else None,
        best_node=best.node if best else None,
        nodes=tuple(
            NodeView(
                node_id=n.node_id,
                host=n.host,
                state=core.nodes.state_of(n),
                slots=n.slots,
                busy=core.leases.count(n.node_id),
                done=n.done,
                failed=n.failed,
                last_seen_age_s=now - n.last_seen,
            )
            for n in s.nodes.by_id.values()
        ),
        dropped_messages=s.dropped,
        checkpoint=str(s.checkpointer.path),
        endpoint=s.endpoint,
        link=s.link_security,
        refused_connections=s.refusals.total,
        best_found_s=found[1] if found is not None and best and found[0] == best.id else None,
        stall_reason=core.stall_reason,
        stalled_for_s=now - core.stalled_since if core.stalled_since is not None else 0.0,
    )
