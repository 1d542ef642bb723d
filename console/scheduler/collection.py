"""What nodes report on their trials: fold progress and results, whether a result counts (only
for a lease this checkpoint issued to its sender), and reporting the ledger's verdict.

A part of SearchCore (composed: it acts through the core's collaborators and outputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.records import clean_scores
from console.scheduler import events as ev
from console.scheduler.admission import _NO_LEASE
from console.scheduler.ledger import (
    PENDING,
    Broke,
    Errored,
    HandedBack,
    NodeFault,
    Outcome,
    Scored,
    Trial,
    Verdict,
    VerdictKind,
)
from console.scheduler.nodes import QUARANTINE_AFTER, NodeInfo
from node import protocol as p

if TYPE_CHECKING:
    from console.scheduler.search_core import Peer, SearchCore


class Collection:
    def __init__(self, core: SearchCore) -> None:
        self.core = core

    def on_progress(self, node: NodeInfo, msg: p.Progress, now: float) -> None:
        lease = self.core.leases.get(msg.lease_id)
        trial = self.core.ledger.get(msg.trial_id)
        if lease is None or lease.node_id != node.node_id or trial is None:
            return
        if trial.lease_id != lease.id or lease.trial_id != trial.id:
            return
        node.proven = True
        trial.folds_done = msg.fold
        trial.fold_scores.append(msg.score)
        self.core.emit(
            ev.TrialProgressed,
            now,
            trial_id=trial.id,
            node_id=node.node_id,
            fold=msg.fold,
            folds=msg.folds,
            score=msg.score,
        )

    def on_result(self, peer: Peer, node: NodeInfo, msg: p.Result, now: float) -> None:
        node.foreign.discard(msg.lease_id)
        trial = self.core.ledger.get(msg.trial_id)
        lease = self.core.leases.get(msg.lease_id)
        live = (
            lease is not None and lease.node_id == node.node_id and lease.trial_id == msg.trial_id
        )
        issued = live or (
            trial is not None
            and trial.open_leases.get(msg.lease_id, _NO_LEASE).node_id == node.node_id
        )
        if msg.status == p.STATUS_CANCELLED:
            if live:
                self.core.end_lease(lease, HandedBack("cancelled by the node"), now)  # type: ignore[arg-type]
            return
        if trial is None or msg.search != self.core.search_hash or not issued:
            # Only a lease this console issued (or adopted) counts: never a made-up one.
            self.core.ack(peer, msg, p.ACK_STALE)
            if msg.search == self.core.search_hash:
                self.core.on_bad_message(
                    peer, f"RESULT for lease {msg.lease_id!r} not issued to it", now
                )
            return
        if trial.is_final:
            self.core.ack(peer, msg, p.ACK_DUPLICATE)
            return
        node.proven = True
        if not live and msg.status != p.STATUS_OK:
            # A failure from an older lease while the trial runs elsewhere: the run under way
            # decides (the node may drop its copy).
            self.core.ack(peer, msg, p.ACK_STALE)
            return
        other = (
            self.core.leases.get(trial.lease_id or "") if trial.lease_id != msg.lease_id else None
        )
        if live:
            self.core.leases.remove(msg.lease_id)
        elif trial.status == PENDING:  # recorded from an old lease: count it through running
            self.core.ledger.start(trial, trial.open_leases[msg.lease_id], now, adopted=True)
        if msg.status == p.STATUS_UNAVAILABLE:
            # The node cannot load the data: hold it back from this search at once (d releases
            # it); the trial goes elsewhere free of charge (NodeFault, not proven).
            node.strikes = max(node.strikes, QUARANTINE_AFTER - 1)
            self.core.strike(node, msg.error or "dataset unavailable on this node", now)
        verdict = self.settle(trial, _outcome(node.node_id, msg), now, node)
        self.core.ack(peer, msg, p.ACK_RECORDED)
        if verdict.kind == VerdictKind.RECORDED and other is not None:
            self.core.leases.remove(other.id)  # the first valid result won: stop the other run
            holder = self.core.nodes.get(other.node_id)
            if holder is not None:
                self.core.send(holder, p.Cancel(lease_id=other.id, reason="trial already recorded"))

    def settle(self, trial: Trial, outcome: Outcome, now: float, node: NodeInfo | None) -> Verdict:
        """The ledger decides; this reports it, journals it and charges the nodes it blames."""
        verdict = self.core.ledger.settle(trial, outcome, now)
        node_id = getattr(outcome, "node_id", trial.node)
        match verdict.kind:
            case VerdictKind.RECORDED:
                self.core.strategy.tell(trial.params, trial.score)
                if node is not None:
                    node.done += 1
                    node.strikes = 0
                for blamed in verdict.blamed:
                    suspect = self.core.nodes.get(blamed)
                    if suspect is not None:
                        self.core.strike(
                            suspect, f"trial {trial.id} failed there, scored elsewhere", now
                        )
                self.core.emit(
                    ev.TrialScored,
                    now,
                    trial_id=trial.id,
                    node_id=node_id,
                    score=trial.score,
                    std=trial.std,
                    duration_s=trial.duration_s or 0.0,
                    is_best=verdict.is_best,
                )
            case VerdictKind.FAILED | VerdictKind.RETRY:
                final = verdict.kind == VerdictKind.FAILED
                if final and node is not None:
                    node.failed += 1
                self.core.emit(
                    ev.TrialFailed,
                    now,
                    trial_id=trial.id,
                    node_id=node_id,
                    status=_status_of(outcome),
                    error=verdict.error,
                    final=final,
                )
            case VerdictKind.REQUEUED:
                self.core.emit(ev.TrialRequeued, now, trial_id=trial.id, reason=verdict.error)
        if verdict.kind != VerdictKind.DUPLICATE:
            self.core.journal_trial(trial)
        return verdict


def _outcome(node_id: str, msg: p.Result) -> Outcome:
    if msg.status == p.STATUS_OK:
        scores = clean_scores(msg.scores)
        return Scored(
            node_id, msg.mean or 0.0, msg.std or 0.0, msg.fold_scores, msg.fit_time_s, scores
        )
    if msg.status == p.STATUS_ERROR:
        return Errored(node_id, msg.error or "error")
    if msg.status == p.STATUS_UNAVAILABLE:
        return NodeFault(node_id, msg.error or "dataset unavailable", proven=False)
    return Broke(node_id, msg.status, msg.error or msg.status)


def _status_of(outcome: Outcome) -> str:
    """How a failure is shown: the node's status, "error", or "lost" for a node's fault."""
    if isinstance(outcome, Broke):
        return outcome.status
    return "error" if isinstance(outcome, Errored) else "lost"
