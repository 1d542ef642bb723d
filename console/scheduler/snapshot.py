"""A read-only picture of a running search, for front ends and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

# The picture's types are the view's (one definition, sent to every front end as they are).
from console.view.models import NodeView, Snapshot

if TYPE_CHECKING:
    from console.scheduler.core import Scheduler


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
