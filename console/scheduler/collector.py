"""The collector half of the scheduler: progress, results, verdicts and recording.

Split from core.py to keep each module readable; `Scheduler` inherits these methods. Recording is
exactly-once: the first valid RESULT for a trial is journaled, then ACKed; any later one is a
duplicate (or stale, if it belongs to another search or different params).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.scheduler import events as ev
from console.scheduler.ledger import PENDING, RUNNING, Trial
from console.scheduler.nodes import NodeInfo
from node import protocol as p

if TYPE_CHECKING:
    from console.scheduler.core import Scheduler


class Collector:
    """Mixin: everything that happens when a node reports on a trial."""

    def _on_progress(self: Scheduler, node: NodeInfo, body: dict[str, Any]) -> None:
        trial = self.ledger.trials.get(body["trial_id"])
        if trial is None or trial.lease_id != body["lease_id"]:
            return
        trial.folds_done = body["fold"]
        trial.fold_scores.append(float(body["score"]))
        self._emit(
            ev.TrialProgressed,
            trial_id=trial.id,
            node_id=node.node_id,
            fold=body["fold"],
            folds=body["folds"],
            score=float(body["score"]),
        )

    def _on_result(
        self: Scheduler, routing_id: bytes, node: NodeInfo | None, body: dict[str, Any]
    ) -> None:
        lease_id, status = body["lease_id"], body["status"]
        trial = self.ledger.trials.get(body["trial_id"])
        own_lease = node is not None and lease_id in node.leases
        if node is not None:
            node.foreign.discard(lease_id)
        if own_lease:
            node.leases.discard(lease_id)
            self._lease_deadline.pop(lease_id, None)
        if status == p.STATUS_CANCELLED:
            if trial is not None and trial.lease_id == lease_id:
                self.ledger.requeue(trial, count_failure=False)
            return
        verdict = self._verdict(trial, body, own_lease)
        if verdict == p.ACK_RECORDED:
            self._record(trial, node, body)
        # Not sent yet: the loop flushes the journal first, then the ACK leaves (on its own, or
        # riding on the next TASK to the same node).
        self._acks.setdefault(routing_id, []).append(
            {"trial_id": body["trial_id"], "lease_id": lease_id, "verdict": verdict}
        )

    def _send_acks(self: Scheduler) -> None:
        """ACKs that no TASK carried. Only ever called after the journal was flushed."""
        for routing_id, acks in self._acks.items():
            for ack in acks:
                self._send(routing_id, p.ACK, ack)
        self._acks.clear()

    def _verdict(
        self: Scheduler, trial: Trial | None, body: dict[str, Any], own_lease: bool
    ) -> str:
        if trial is None or body["search"] != self.search_hash:
            return p.ACK_STALE
        if trial.is_final:
            return p.ACK_DUPLICATE
        if own_lease and trial.lease_id == body["lease_id"]:
            return p.ACK_RECORDED
        # A result from an older lease (a node that went silent, or a previous console run) still
        # counts if it is for exactly these params: the first valid result wins.
        if body["params"] == self._task_params(trial) and body["status"] == p.STATUS_OK:
            return p.ACK_RECORDED
        return p.ACK_STALE

    def _record(self: Scheduler, trial: Trial, node: NodeInfo | None, body: dict[str, Any]) -> None:
        now, status, node_id = self.clock(), body["status"], body["node_id"]
        other_lease = trial.lease_id if trial.lease_id != body["lease_id"] else None
        if status in (p.STATUS_TIMEOUT, p.STATUS_CRASH) and node is not None:
            self._strike(node, f"trial {trial.id} {status}")  # the node's fault, not the params'
        if status == p.STATUS_OK and body["mean"] is not None:
            if trial.status != RUNNING:  # adopted from an old lease: count it through running
                trial.status = RUNNING
                trial.attempts = max(trial.attempts, int(body["attempt"]))
                self.ledger.running += 1
            is_best = self.ledger.record_ok(trial, body, now)
            self.strategy.tell(trial.params, trial.score)
            self.checkpointer.journal(trial)
            if node is not None:
                node.done += 1
                node.strikes = 0
            self._emit(
                ev.TrialScored,
                trial_id=trial.id,
                node_id=node_id,
                score=trial.score,
                std=trial.std,
                duration_s=trial.duration_s or 0.0,
                is_best=is_best,
            )
        elif status == p.STATUS_ERROR or trial.failures + 1 >= self.spec.max_attempts:
            self._fail(trial, node, status, body["error"] or status)
        else:  # timeout or crash: an infrastructure failure, retried
            self.ledger.requeue(trial, count_failure=True)
            self._emit(
                ev.TrialFailed,
                trial_id=trial.id,
                node_id=node_id,
                status=status,
                error=body["error"] or status,
                final=False,
            )
        if other_lease:
            self._revoke(other_lease, "trial already recorded")

    def _strike(self: Scheduler, node: NodeInfo, why: str) -> None:
        """One more crash or timeout in a row on this node; quarantine it at the limit."""
        was_quarantined = node.quarantined
        node.strikes += 1
        if node.quarantined and not was_quarantined:
            self._emit(
                ev.NodeQuarantined, node_id=node.node_id, strikes=node.strikes, last_failure=why
            )

    def _fail(
        self: Scheduler, trial: Trial, node: NodeInfo | None, status: str, error: str
    ) -> None:
        if status != p.STATUS_ERROR:
            trial.failures += 1
            error = f"{error} (gave up after {trial.failures} attempt(s))"
        node_id = node.node_id if node is not None else trial.node
        self.ledger.record_failure(trial, node_id, error, self.clock())
        self.checkpointer.journal(trial)
        if node is not None:
            node.failed += 1
        self._emit(
            ev.TrialFailed,
            trial_id=trial.id,
            node_id=node_id,
            status=status,
            error=error,
            final=True,
        )

    def _reconcile_running(
        self: Scheduler, node: NodeInfo, held: dict[str, dict[str, Any]]
    ) -> None:
        """Leases a node works on that are not ours: adopt, cancel, or count them as busy.

        Adopt when it is a pending trial of this search with the same params (the node kept
        working while the console restarted); cancel when that trial is already settled.
        """
        node.foreign = set()
        for lease_id, item in held.items():
            if lease_id in node.leases:
                continue
            trial = self.ledger.trials.get(item["trial_id"])
            ours = trial is not None and item["search"] == self.search_hash
            if ours and trial.status == PENDING and item["params"] == self._task_params(trial):
                self._adopt(node, trial, lease_id, item["attempt"])
                continue
            node.foreign.add(lease_id)  # busy until its result (or cancellation) arrives
            if ours and trial.is_final:
                self._send(
                    node.routing_id,
                    p.CANCEL,
                    {"lease_id": lease_id, "reason": "trial already settled"},
                )
