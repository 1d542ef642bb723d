"""Lease keeping for the scheduler: dispatch under credit, liveness, deadlines and requeues.

Split from core.py to keep each module readable; `Scheduler` inherits these methods.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import zmq

from console.scheduler import events as ev
from console.scheduler.ledger import RUNNING, Trial
from console.scheduler.nodes import LOST, NodeInfo
from node import protocol as p
from node.transport import routed

if TYPE_CHECKING:
    from console.scheduler.core import Scheduler

log = logging.getLogger("hpo.scheduler")

# A node enforces each trial's deadline itself; the console's own deadline is a backstop that
# allows for a few heartbeats of delay before it gives up on the lease.
DEADLINE_GRACE_BEATS = 5


class LeaseKeeping:
    """Mixin: everything that creates, watches or ends a lease."""

    def _dispatch(self: Scheduler) -> None:
        if self.state != "running" or self._stop_requested:
            return
        now = self.clock()
        for node in self.nodes.with_credit():
            while node.free > 0:
                trial = self._next_trial()
                if trial is None:
                    return
                lease_id = next(self._lease_ids)
                task = {
                    "trial_id": trial.id,
                    "attempt": trial.attempts + 1,
                    "lease_id": lease_id,
                    "timeout_s": self.spec.trial_timeout_s,
                    "estimator": self.spec.model.estimator,
                    "params": self._task_params(trial),
                    "cv": self.spec.cv,
                    "metric": self.spec.metric,
                    "seed": self.spec.seed,
                    "dataset": self.spec.dataset_ref(),
                    "search": self.search_hash,
                }
                acks = self._acks.pop(node.routing_id, None)
                if acks:  # one message instead of two: saves a send and a wake-up on the node
                    task["acks"] = [ack["lease_id"] for ack in acks]
                if not self._send(node.routing_id, p.TASK, task):
                    self.ledger.queue.appendleft(trial.id)
                    self._lose_node(node, LOST, "send failed", count_failure=True)
                    break
                self._take_lease(node, trial, lease_id, now)

    def _adopt(self: Scheduler, node: NodeInfo, trial: Trial, lease_id: str, attempt: int) -> None:
        """Make a lease a node already works on (from an earlier console run) one of ours."""
        self._take_lease(node, trial, lease_id, self.clock(), adopted_attempt=attempt)

    def _take_lease(
        self: Scheduler,
        node: NodeInfo,
        trial: Trial,
        lease_id: str,
        now: float,
        adopted_attempt: int = 0,
    ) -> None:
        # A prefetched task waits on the node until a slot frees: the node's own clock for it
        # starts then, so the console allows one trial timeout per round of slots ahead of it.
        busy = len(node.leases) + len(node.foreign)
        waits = 0 if adopted_attempt or busy < node.slots else (busy - node.slots) // node.slots + 1
        self.ledger.mark_running(trial, lease_id, node.node_id, now, adopted_attempt)
        node.leases.add(lease_id)
        self._lease_trial[lease_id] = trial.id
        self._lease_deadline[lease_id] = (
            now + (1 + waits) * self.spec.trial_timeout_s + DEADLINE_GRACE_BEATS * self.heartbeat_s
        )
        self._emit(
            ev.TrialDispatched,
            trial_id=trial.id,
            node_id=node.node_id,
            attempt=trial.attempts,
            params=trial.params,
            adopted=bool(adopted_attempt),
        )

    def _task_params(self: Scheduler, trial: Trial) -> dict[str, Any]:
        """What a node is sent: the fixed params plus the trial's own."""
        return {**self.spec.model.fixed, **trial.params}

    def _next_trial(self: Scheduler) -> Trial | None:
        trial = self.ledger.next_pending()
        if trial is not None or len(self.ledger) >= self.planned:
            return trial
        params = self.strategy.ask()
        if params is None:  # the strategy ran out early (e.g. a small grid)
            self.planned = len(self.ledger)
            return None
        self.ledger.add(Trial(id=len(self.ledger), params=params))
        return self.ledger.next_pending()

    def _housekeeping(self: Scheduler) -> None:
        now = self.clock()
        for node in self.nodes.silent_since(now - p.LIVENESS_BEATS * self.heartbeat_s):
            self._lose_node(node, LOST, "silent", count_failure=True)
        for lease_id, deadline in list(self._lease_deadline.items()):
            if now > deadline:
                self._revoke(lease_id, "lease deadline passed", requeue=True)
        if now - self._last_ping >= self.heartbeat_s:
            self._last_ping = now
            for node in self.nodes.live():
                self._send(node.routing_id, p.PING, {"search": self.search_hash})
        if self.checkpointer.due(now):
            self._save_checkpoint()

    def _lose_node(
        self: Scheduler, node: NodeInfo, gone: str, reason: str, *, count_failure: bool
    ) -> None:
        node.gone = gone
        requeued = [
            self._end_lease(
                node, lease_id, f"node {node.node_id} {reason}", count_failure=count_failure
            )
            for lease_id in list(node.leases)
        ]
        log.warning("node %s %s; %d trial(s) requeued", node.node_id, reason, len(requeued))
        self._emit(
            ev.NodeLost,
            node_id=node.node_id,
            reason=reason,
            requeued=tuple(t for t in requeued if t is not None),
        )

    def _end_lease(
        self: Scheduler, node: NodeInfo, lease_id: str, reason: str, *, count_failure: bool
    ) -> int | None:
        """Forget a lease; its trial goes back to the queue (or fails, out of attempts)."""
        node.leases.discard(lease_id)
        self._lease_deadline.pop(lease_id, None)
        trial = self.ledger.trials.get(self._lease_trial.get(lease_id, -1))
        if trial is None or trial.status != RUNNING or trial.lease_id != lease_id:
            return None
        if count_failure and trial.failures + 1 >= self.spec.max_attempts:
            self._fail(trial, node, "lost", reason)
            return None
        self.ledger.requeue(trial, count_failure=count_failure)
        self._emit(ev.TrialRequeued, trial_id=trial.id, reason=reason)
        return trial.id

    def _revoke(self: Scheduler, lease_id: str, reason: str, *, requeue: bool = False) -> None:
        """Take a lease away from whichever node holds it and tell that node to stop."""
        for node in self.nodes.by_id.values():
            if lease_id in node.leases:
                if requeue:
                    self._end_lease(node, lease_id, reason, count_failure=True)
                else:
                    node.leases.discard(lease_id)
                    self._lease_deadline.pop(lease_id, None)
                self._send(node.routing_id, p.CANCEL, {"lease_id": lease_id, "reason": reason})
                return

    def _cancel_all_leases(self: Scheduler, reason: str) -> None:
        for node in self.nodes.live():
            for lease_id in list(node.leases):
                self._send(node.routing_id, p.CANCEL, {"lease_id": lease_id, "reason": reason})
                self._end_lease(node, lease_id, reason, count_failure=False)

    def _check_finished(self: Scheduler) -> bool:
        if (
            self.state == "running"
            and len(self.ledger) >= self.planned
            and self.ledger.unfinished() == 0
        ):
            self._set_state("finished")
            self._save_checkpoint()
        return self.state == "finished"

    def _save_checkpoint(self: Scheduler) -> None:
        try:
            self.checkpointer.save(self.state)
        except OSError as exc:  # a full disk must not kill the search: say so and go on
            log.error("checkpoint failed: %s", exc)
            self._emit(ev.SchedulerError, message=f"checkpoint failed: {exc}")
            return
        self._emit(ev.Checkpointed, path=str(self.checkpointer.path), trials_done=self.ledger.done)

    def _send(self: Scheduler, routing_id: bytes, kind: str, body: dict[str, Any]) -> bool:
        """Send to one node; False if it is gone (ROUTER_MANDATORY) or its queue is full."""
        if self._sock is None:
            return False
        try:
            self._sock.send_multipart(routed(routing_id, kind, body), zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:
            log.warning("send %s to %s failed: %s", kind, routing_id.hex()[:16], exc)
            return False
