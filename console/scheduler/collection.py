"""What nodes report on their units: fold progress and results, whether a result counts (only
for a lease this checkpoint issued to its sender), pruning after each recorded fold, and
reporting the ledger's verdict.

A fold's score counts from the first report of it, PROGRESS or RESULT, and is journaled then: a
unit lost after three of its five folds runs only the other two again.

A part of SearchCore (composed: it acts through the core's collaborators and outputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.records import clean_fold_scores, clean_scores
from console.scheduler import events as ev
from console.scheduler.ledger import Trial
from console.scheduler.nodes import QUARANTINE_AFTER, NodeInfo
from console.scheduler.outcomes import (
    Broke,
    Errored,
    HandedBack,
    NodeFault,
    Outcome,
    Scored,
    Verdict,
    VerdictKind,
)
from console.search import objectives
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
        if lease.trial_id != trial.id or msg.fold not in trial.live.get(lease.id, ()):
            return
        node.proven = True
        new = self.core.ledger.record_folds(trial, {msg.fold: msg.score})
        self.core.ledger.record_metrics(trial, (msg.fold,), clean_fold_scores(msg.scores))
        self.core.emit(
            ev.TrialProgressed,
            now,
            trial_id=trial.id,
            node_id=node.node_id,
            fold=msg.fold,
            folds=self.core.ledger.n_folds,
            score=msg.score,
        )
        if new:
            self.core.journal_trial(trial)
            self.check_pruning(trial, now)

    def on_result(self, peer: Peer, node: NodeInfo, msg: p.Result, now: float) -> None:
        node.foreign.discard(msg.lease_id)
        trial = self.core.ledger.get(msg.trial_id)
        lease = self.core.leases.get(msg.lease_id)
        live = (
            lease is not None and lease.node_id == node.node_id and lease.trial_id == msg.trial_id
        )
        issued = live or (trial is not None and trial.issued_to(msg.lease_id, node.node_id))
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
        if live:
            self.core.leases.remove(msg.lease_id)
        outcome = self._outcome(node, trial, msg, now)
        verdict = self.settle(trial, msg.lease_id, outcome, now, node)
        duplicate = verdict.kind == VerdictKind.DUPLICATE
        self.core.ack(peer, msg, p.ACK_DUPLICATE if duplicate else p.ACK_RECORDED)

    def settle(
        self, trial: Trial, lease_id: str, outcome: Outcome, now: float, node: NodeInfo | None
    ) -> Verdict:
        """The ledger decides; this reports it, journals it and charges the nodes it blames."""
        verdict = self.core.ledger.settle(trial, lease_id, outcome, now)
        node_id = getattr(outcome, "node_id", trial.node)
        self.core.stop_units(verdict.stop_leases, "its folds are already recorded")
        match verdict.kind:
            case VerdictKind.RECORDED:
                self.tell(trial, "ok")
                self._credit(node, trial, verdict, now)
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
            case VerdictKind.PROGRESSED:
                self._credit(node, trial, verdict, now)
                self.check_pruning(trial, now)
            case VerdictKind.FAILED | VerdictKind.RETRY:
                final = verdict.kind == VerdictKind.FAILED
                if final:
                    self.tell(trial, "failed")
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

    def tell(self, trial: Trial, status: str) -> None:
        """The strategy learns the final outcome (every objective's value with it), and the
        state its sampler kept on the trial is saved with the trial (journaled next)."""
        strategy = self.core.strategy
        scored = status == "ok"
        measured = objectives.measures(
            trial.score if scored else None, _means(trial), trial.duration_s, self.core.spec.metric
        )
        strategy.tell(trial.id, status, trial.score if scored else None, metrics=measured)
        trial.sampler_attrs = strategy.sampler_attrs(trial.id)

    def check_pruning(self, trial: Trial, now: float) -> None:
        """After a newly recorded fold: stop the trial if the pruner says it cannot matter,
        else let its remaining folds fan out."""
        n_folds = self.core.ledger.n_folds
        if trial.is_final or trial.folds_done >= n_folds or trial.folds_done == trial.judged:
            return
        trial.judged = trial.folds_done  # each step is reported to the pruner once
        mean = trial.running_mean or 0.0
        if self.core.strategy.should_prune(trial.id, trial.folds_done, mean):
            reason = f"pruned after {trial.folds_done} of {n_folds} folds (mean {mean:.4f})"
            verdict = self.core.ledger.prune(trial, reason, now)
            self.tell(trial, "pruned")
            self.core.stop_units(verdict.stop_leases, "trial pruned")
            self.core.emit(
                ev.TrialPruned,
                now,
                trial_id=trial.id,
                folds_done=trial.folds_done,
                folds=n_folds,
                running_mean=mean,
                cancelled=len(verdict.stop_leases),
            )
            self.core.journal_trial(trial)
        elif not self.core.dispatch.gated(trial):
            self.core.ledger.requeue(trial)

    def _credit(self, node: NodeInfo | None, trial: Trial, verdict: Verdict, now: float) -> None:
        """A unit delivered: the node is in good standing; the suspects are proven at fault.
        A node's `done` counts the trials it completed (its last unit), as the table shows."""
        if node is not None:
            node.done += verdict.kind == VerdictKind.RECORDED
            node.strikes = 0
        for blamed in verdict.blamed:
            suspect = self.core.nodes.get(blamed)
            if suspect is not None:
                self.core.strike(suspect, f"trial {trial.id} failed there, scored elsewhere", now)

    def _outcome(self, node: NodeInfo, trial: Trial, msg: p.Result, now: float) -> Outcome:
        if msg.status == p.STATUS_ERROR:
            return Errored(node.node_id, msg.error or "error")
        if msg.status == p.STATUS_UNAVAILABLE:
            # The node cannot load the data: hold it back from this search at once (d releases
            # it); the trial goes elsewhere free of charge (NodeFault, not proven).
            node.strikes = max(node.strikes, QUARANTINE_AFTER - 1)
            self.core.strike(node, msg.error or "dataset unavailable on this node", now)
            return NodeFault(node.node_id, msg.error or "dataset unavailable", proven=False)
        if msg.status != p.STATUS_OK:
            return Broke(node.node_id, msg.status, msg.error or msg.status)
        unit = trial.live.get(msg.lease_id) or trial.open_leases[msg.lease_id].folds
        partial = bool(unit) and len(unit) < self.core.ledger.n_folds
        if partial and not msg.fold_scores:
            # An "ok" with nothing for the folds it was given: the node's fault, not the trial's.
            self.core.strike(node, f"reported no fold score for trial {trial.id}", now)
            return NodeFault(node.node_id, "result without its fold scores", node.proven)
        return Scored(
            node.node_id, msg.mean or 0.0, msg.std or 0.0, msg.fold_scores, msg.fit_time_s,
            msg.folds, clean_scores(msg.scores),
        )  # fmt: skip


def _means(trial: Trial) -> dict[str, float]:
    return {name: sum(values) / len(values) for name, values in trial.scores.items() if values}


def _status_of(outcome: Outcome) -> str:
    """How a failure is shown: the node's status, "error", or "lost" for a node's fault."""
    if isinstance(outcome, Broke):
        return outcome.status
    return "error" if isinstance(outcome, Errored) else "lost"
