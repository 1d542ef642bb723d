"""Who may join, and what a joining node already holds: HELLO, identity claims, adoption of
leases this checkpoint issued, and holding back a restarted console's in-flight trials.

A part of SearchCore (composed: it acts through the core's collaborators and outputs).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from console.scheduler.ledger import PENDING
from console.scheduler.nodes import MAX_NODES, NodeInfo
from console.scheduler.outcomes import NodeFault
from node import protocol as p

if TYPE_CHECKING:
    from console.scheduler.ledger import Trial
    from console.scheduler.search_core import Peer, SearchCore

# How long a restarted console waits for a node to come back to the trials it had: its silence
# timeout plus the longest reconnect backoff, and a margin.
HOLD_BACK_BEATS = p.LIVENESS_BEATS
HOLD_BACK_S = 10.0


class Admission:
    def __init__(self, core: SearchCore) -> None:
        self.core = core
        # Trials a previous run of this checkpoint had out on a node: held back (not dispatched)
        # until that node says in its HELLO whether it still has them, or for a while if it does
        # not come back, so nothing it finishes meanwhile runs twice. Trial id -> until when.
        self._held_back: dict[int, float] = {
            t.id: float("inf")
            for t in core.ledger.trials.values()
            if t.open_leases and not t.is_final
        }
        if self._held_back:
            core.ledger.queue = deque(t for t in core.ledger.queue if t not in self._held_back)

    def on_hello(self, peer: Peer, hello: p.Hello, now: float) -> None:
        if hello.protocol != p.PROTOCOL_VERSION:
            reason = f"protocol {hello.protocol} unsupported (console speaks {p.PROTOCOL_VERSION})"
            self.core.send_to(peer.routing_id, p.Disconnect(reason=reason))
            self.core.on_bad_message(
                peer, f"node {hello.node_id!r} speaks protocol {hello.protocol}", now
            )
            return
        node = self.core.nodes.get(hello.node_id)
        if node is not None and node.routing_id != peer.routing_id:
            refusal = self._claim_refused(node, peer, hello)
            if refusal:
                self.core.on_bad_message(peer, refusal, now)
                return
        if node is None:
            if self.core.nodes.live_count() >= MAX_NODES:
                self.core.on_bad_message(peer, f"HELLO refused: {MAX_NODES} nodes already", now)
                return
            node = NodeInfo(hello.node_id, peer.routing_id, "", hello.slots, 0, now)
            node.proven = bool(peer.key_name)  # an allow-listed key is the operator's word
        rejoined = node.node_id in self.core.nodes.by_id
        self.core.nodes.bind(node, peer.routing_id)
        node.host, node.slots, node.prefetch = hello.host[:100], hello.slots, hello.prefetch
        node.last_seen, node.gone, node.versions = now, None, dict(hello.versions)
        node.address, node.key_name = peer.address, peer.key_name or node.key_name
        # Leases it no longer holds were lost while it was away (it restarted): the node's loss.
        held = {lease.lease_id for lease in hello.running}
        for lease in self.core.leases.of_node(node.node_id):
            if lease.id not in held:
                self.core.end_lease(lease, NodeFault(node.node_id, "node restarted", False), now)
        self.core.send(
            node,
            p.Welcome(
                protocol=p.PROTOCOL_VERSION,
                heartbeat_s=self.core.heartbeat_s,
                search=self.core.search_hash,
            ),
        )
        self.core.announce_join(node, rejoined, now)
        self.reconcile(node, hello.running, now)
        for trial_id in list(self._held_back):  # held back for this node, which no longer has it
            trial = self.core.ledger.trials[trial_id]
            mine = [lease for lease in trial.open_leases.values() if lease.node_id == node.node_id]
            if mine and trial.status == PENDING and not held & {lease.lease_id for lease in mine}:
                self._release(trial_id)

    def _claim_refused(self, node: NodeInfo, peer: Peer, hello: p.Hello) -> str | None:
        """Why a HELLO for a known node id from another connection is refused, or None."""
        if node.key_name and peer.key_name != node.key_name:
            return f"HELLO for node {node.node_id!r} with another key than its own"
        if node.gone is not None:
            return None  # a node that left or went silent, back on a new connection
        mine = {lease.id for lease in self.core.leases.of_node(node.node_id)}
        if mine and mine & {lease.lease_id for lease in hello.running}:
            return None  # it knows the leases we gave that node: it is that node, reconnected
        return (
            f"HELLO for node {node.node_id!r}, which is live on another connection "
            "(refused until that one goes silent)"
        )

    def reconcile(
        self, node: NodeInfo, running: tuple[p.HeldLease, ...], now: float, adopt: bool = True
    ) -> None:
        """Leases a node reports that are not live here: adopt those this console issued to it
        when its HELLO lists them (a console restart; never from a heartbeat, which may list a
        lease we took back), cancel those that are not ours, count the rest as busy."""
        node.foreign = set()
        node.revoked &= {held.lease_id for held in running}
        for held in running:
            lease = self.core.leases.get(held.lease_id)
            if (
                lease is not None and lease.node_id == node.node_id
            ) or held.lease_id in node.revoked:
                continue
            trial = self.core.ledger.get(held.trial_id)
            issued = (
                trial is not None
                and held.search == self.core.search_hash
                and trial.issued_to(held.lease_id, node.node_id)
            )
            if adopt and issued and self._adoptable(trial, held.lease_id):  # type: ignore[arg-type]
                folds = trial.open_leases[held.lease_id].folds  # type: ignore[union-attr]
                self.core.take_lease(
                    node, trial, held.lease_id, held.attempt, now, adopted=True, folds=folds,  # type: ignore[arg-type]
                )  # fmt: skip
                continue
            node.foreign.add(held.lease_id)  # busy until its result (or cancellation) arrives
            if not issued or trial.is_final:  # type: ignore[union-attr]
                why = "trial already settled" if issued else "not a lease of this search"
                self.core.send(node, p.Cancel(lease_id=held.lease_id, reason=why))

    def _adoptable(self, trial: Trial, lease_id: str) -> bool:
        """Its unit's folds are neither recorded nor running elsewhere."""
        folds = trial.open_leases[lease_id].folds or range(1, self.core.ledger.n_folds + 1)
        left = trial.undispatched(self.core.ledger.n_folds)
        return not trial.is_final and all(fold in left for fold in folds)

    def release_held_back(self, now: float) -> None:
        for trial_id, until in list(self._held_back.items()):
            trial = self.core.ledger.trials[trial_id]
            if trial.status != PENDING:  # adopted, or recorded from its old lease
                del self._held_back[trial_id]
            elif until == float("inf"):  # the first tick: the wait starts now
                self._held_back[trial_id] = (
                    now + HOLD_BACK_BEATS * self.core.heartbeat_s + HOLD_BACK_S
                )
            elif now >= until:
                self._release(trial_id)

    def _release(self, trial_id: int) -> None:
        del self._held_back[trial_id]
        self.core.ledger.queue.appendleft(trial_id)
