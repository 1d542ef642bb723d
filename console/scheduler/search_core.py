"""SearchCore: the rules of a search, with no sockets, no asyncio and no clock of its own.

The shell (core.py) feeds it what arrived (`on_message`, `on_bad_message`, `on_send_failed`),
the time (`tick`) and the operator's controls; every call returns an `Output`: the messages to
send, the trial records to journal and the events to emit. The shell must journal (and flush)
before it sends, which is what makes results durable before their ACK and a dispatch durable
before its TASK: a restarted console knows every lease it issued.

Collaborators, composed: the `Ledger` (trials, and `settle`, the retry and blame policy), the
`LeaseTable` (one record per live lease) and the `NodeBook` (nodes and their connections); and
three parts: `Admission` (HELLO, identity, adoption), `Collection` (progress and results) and
`Dispatch` (which folds of which trial go to which node). The public helpers below the controls
(`send`, `emit`, `take_lease`...) are for those parts.
"""

from __future__ import annotations

from typing import Any

from console.records import OpenLease
from console.scheduler import events as ev
from console.scheduler.admission import Admission
from console.scheduler.collection import Collection
from console.scheduler.dispatching import Dispatch
from console.scheduler.drops import DropReports
from console.scheduler.leases import Lease, LeaseTable
from console.scheduler.ledger import Ledger, Trial
from console.scheduler.nodes import FORGET_UNPROVEN_ABOVE, NodeBook, NodeInfo, version_mismatch
from console.scheduler.outcomes import HandedBack, NodeFault, Outcome
from console.scheduler.outputs import Output, Peer
from console.scheduler.states import NodeState, SearchState
from console.search.base import Strategy
from console.searchfile.toml_io import SearchSpec
from console.view.models import STALL_REPORT_AFTER_S
from node import protocol as p

# A node enforces each trial's deadline itself; the console's own deadline is a backstop that
# allows for a few heartbeats of delay before it gives up on the lease.
DEADLINE_GRACE_BEATS = 5
# Nodes take a moment to join (a local node imports scikit-learn first): a stall is only
# reported once it has lasted STALL_REPORT_AFTER_S (in the view's models: front ends time their
# own grace from `stalled_since`).


class SearchCore:
    def __init__(
        self,
        spec: SearchSpec,
        ledger: Ledger,
        strategy: Strategy,
        *,
        state: SearchState = SearchState.RUNNING,
        console_versions: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.ledger = ledger
        self.strategy = strategy
        self.state = state
        self.planned = strategy.planned_total()
        self.search_hash = spec.config_hash()
        self.heartbeat_s = spec.cluster.heartbeat_s
        self.console_versions = console_versions or {}
        self.leases = LeaseTable()
        self.nodes = NodeBook(self.leases)
        self.drops = DropReports()
        self.stalled_since: float | None = None  # since when no node could take the work left
        self.stall_reason: str | None = None
        self._stall_reported: str | None = None
        self._acks: dict[bytes, list[p.Ack]] = {}  # ACKs not yet sent, by connection
        self._last_ping = float("-inf")
        self._out = Output()
        self.admission = Admission(self)
        self.collection = Collection(self)
        self.dispatch = Dispatch(self)

    # -- inputs --------------------------------------------------------------------------------

    def on_message(self, peer: Peer, msg: p.Message, now: float) -> Output:
        """One validated message from a node."""
        if isinstance(msg, p.Hello):
            self.admission.on_hello(peer, msg, now)
            return self._take()
        node = self.nodes.bound_to(peer.routing_id)
        claimed = getattr(msg, "node_id", None)
        if node is None or node.node_id != claimed:
            if node is not None or self.nodes.get(str(claimed)) is not None:
                # Someone else's id over this connection: not that node's message.
                self.on_bad_message(peer, f"{msg.KIND} claims node {claimed!r}", now)
            # else: a node that has not said HELLO to this console yet (it was talking to a
            # previous run); it re-HELLOs after three silent beats.
            return self._take()
        node.last_seen = now
        if node.gone == NodeState.LOST:  # it was only silent (e.g. SIGSTOP): take it back
            node.gone = None
            self.announce_join(node, rejoined=True, now=now)
        match msg:
            case p.Result():
                self.collection.on_result(peer, node, msg, now)
            case p.Progress():
                self.collection.on_progress(node, msg, now)
            case p.Heartbeat():
                self.admission.reconcile(node, msg.running, now, adopt=False)
            case p.Bye():
                self._lose_node(node, NodeState.LEFT, "bye", now)
        return self._take()

    def on_bad_message(self, peer: Peer, reason: str, now: float) -> Output:
        """A message that failed validation: dropped, counted, reported at a limited rate."""
        report = self.drops.dropped(peer.address, reason, now)
        if report is not None:
            self.emit(ev.MessageDropped, now, **report)
        return self._take()

    def on_send_failed(self, routing_id: bytes, now: float) -> Output:
        """The transport could not reach this connection (it is gone)."""
        node = self.nodes.bound_to(routing_id)
        if node is not None and node.gone is None:
            self._lose_node(node, NodeState.LOST, "send failed", now)
        return self._take()

    def tick(self, now: float) -> Output:
        """Liveness, deadlines, pings, dispatch, ACKs and the end of the search."""
        self.admission.release_held_back(now)
        for node in self.nodes.silent_since(now - p.LIVENESS_BEATS * self.heartbeat_s):
            self._lose_node(node, NodeState.LOST, "silent", now)
        for lease in self.leases.expired(now):
            node = self.nodes.get(lease.node_id)
            proven = node is not None and node.proven
            self.end_lease(lease, NodeFault(lease.node_id, "lease deadline passed", proven), now)
            if node is not None:
                self.send(node, p.Cancel(lease_id=lease.id, reason="lease deadline passed"))
                node.revoked.add(lease.id)  # dead to us, even while the node still lists it
                self.strike(node, f"held trial {lease.trial_id} past its deadline", now)
        if now - self._last_ping >= self.heartbeat_s:
            self._last_ping = now
            for node in self.nodes.live():
                self.send(node, p.Ping(search=self.search_hash))
        for report in self.drops.due(now):
            self.emit(ev.MessageDropped, now, **report)
        self.dispatch.run(now)
        self._flush_acks()
        self._check_finished(now)
        self._check_stalled(now)
        return self._take()

    # -- controls ------------------------------------------------------------------------------

    def pause(self, now: float) -> Output:
        """Dispatch nothing more; running trials finish and are recorded."""
        if self.state == SearchState.RUNNING:
            self._set_state(SearchState.PAUSED, now)
        return self._take()

    def resume(self, now: float) -> Output:
        if self.state in (SearchState.PAUSED, SearchState.FINISHED, SearchState.STOPPED):
            self._set_state(SearchState.RUNNING, now)
        return self.tick(now)

    def stop(self, now: float) -> Output:
        """Cancel every running trial (saved back as pending)."""
        for lease in self.leases:
            node = self.nodes.get(lease.node_id)
            if node is not None:
                self.send(node, p.Cancel(lease_id=lease.id, reason="search stopped"))
            self.end_lease(lease, HandedBack("search stopped"), now)
        self._flush_acks()
        if self.state != SearchState.FINISHED:  # stopping a finished search leaves it finished
            self._set_state(SearchState.STOPPED, now)
        return self._take()

    def close(self, now: float) -> Output:
        """The console is going away. After a finished search, nodes hear it is over, so they
        wait quietly for the next console instead of warning about this one."""
        if self.state == SearchState.FINISHED:
            for node in self.nodes.live():
                self.send(node, p.SearchOver(search=self.search_hash, reason="search finished"))
        return self._take()

    def drain(self, node_id: str, draining: bool, now: float) -> Output | None:
        """draining=False undoes it and releases a quarantined node. None: unknown node."""
        node = self.nodes.get(node_id)
        if node is None:
            return None
        node.draining = draining
        if not draining:
            node.strikes = 0
        return self.tick(now)

    def retry_failed(self, now: float) -> tuple[int, Output]:
        """Failed trials go back to the queue with a fresh retry budget."""
        retried = self.ledger.retry_failed()
        for trial_id in retried:
            self.emit(ev.TrialRequeued, now, trial_id=trial_id, reason="retry requested")
            self.journal_trial(self.ledger.trials[trial_id])
        if retried and self.state == SearchState.FINISHED:
            self._set_state(SearchState.RUNNING, now)
        return len(retried), self.tick(now)

    def warn(self, message: str, now: float) -> Output:
        self.emit(ev.SearchWarning, now, message=message)
        return self._take()

    def task_params(self, trial: Trial) -> dict[str, Any]:
        """What a node is sent: the fixed params plus the trial's own."""
        return {**self.spec.model.fixed, **trial.params}

    # -- leases --------------------------------------------------------------------------------

    def take_lease(
        self, node: NodeInfo, trial: Trial, lease_id: str, attempt: int, now: float,
        adopted: bool = False, folds: tuple[int, ...] = (),
    ) -> Lease:  # fmt: skip
        # A prefetched task waits on the node until a slot frees: the node's own clock for it
        # starts then, so the console allows one trial timeout per round of slots ahead of it.
        busy = self.nodes.busy(node)
        waits = 0 if adopted or busy < node.slots else (busy - node.slots) // node.slots + 1
        timeout = self.spec.trial_timeout_s
        deadline = now + (1 + waits) * timeout + DEADLINE_GRACE_BEATS * self.heartbeat_s
        if len(folds) == self.ledger.n_folds:
            folds = ()  # the whole trial: saved as files written before units were
        lease = Lease(lease_id, trial.id, node.node_id, attempt, deadline, folds, adopted)
        self.leases.add(lease)
        self.ledger.start(trial, OpenLease(lease_id, node.node_id, attempt, folds), now, adopted)
        self.journal_trial(trial)  # durable before the TASK leaves (the shell journals first)
        self.emit(
            ev.TrialDispatched,
            now,
            trial_id=trial.id,
            node_id=node.node_id,
            attempt=trial.attempts,
            params=trial.params,
            adopted=adopted,
        )
        return lease

    def end_lease(self, lease: Lease, outcome: Outcome, now: float) -> None:
        """A live lease ends without a result: settle its unit."""
        self.leases.remove(lease.id)
        trial = self.ledger.get(lease.trial_id)
        if trial is not None and lease.id in trial.live and not trial.is_final:
            self.collection.settle(trial, lease.id, outcome, now, self.nodes.get(lease.node_id))

    def stop_units(self, lease_ids: tuple[str, ...], reason: str) -> None:
        """Take back units that no longer matter and cancel them on their nodes."""
        for lease_id in lease_ids:
            lease = self.leases.remove(lease_id)
            holder = self.nodes.get(lease.node_id) if lease is not None else None
            if holder is not None:
                holder.revoked.add(lease_id)  # never adopted back from a later HELLO
                self.send(holder, p.Cancel(lease_id=lease_id, reason=reason))

    def _lose_node(self, node: NodeInfo, gone: NodeState, reason: str, now: float) -> None:
        node.gone = gone
        held = self.leases.of_node(node.node_id)
        requeued = []
        for lease in held:
            outcome: Outcome = (
                HandedBack(f"node {node.node_id} left")
                if gone == NodeState.LEFT
                else NodeFault(node.node_id, f"node {node.node_id} {reason}", node.proven)
            )
            self.end_lease(lease, outcome, now)
            requeued.append(lease.trial_id)
        self._acks.pop(node.routing_id, None)
        self.emit(ev.NodeLost, now, node_id=node.node_id, reason=reason, requeued=tuple(requeued))
        if held and gone == NodeState.LOST:
            self.strike(node, f"went {reason} with {len(held)} trial(s)", now)
        if not node.proven and len(self.nodes.by_id) > FORGET_UNPROVEN_ABOVE:
            self.nodes.forget(node)  # it never delivered: keep a HELLO flood from piling up
        else:
            self.nodes.unbind(node)

    def strike(self, node: NodeInfo, why: str, now: float) -> None:
        """One more fault in a row on this node; quarantine it at the limit."""
        was_quarantined = node.quarantined
        node.strikes += 1
        if node.quarantined and not was_quarantined:
            self.emit(
                ev.NodeQuarantined,
                now,
                node_id=node.node_id,
                strikes=node.strikes,
                last_failure=why,
            )

    # -- the search as a whole -----------------------------------------------------------------

    def _check_finished(self, now: float) -> None:
        if (
            self.state == SearchState.RUNNING
            and len(self.ledger) >= self.planned
            and self.ledger.unfinished() == 0
        ):
            self._set_state(SearchState.FINISHED, now)

    def _check_stalled(self, now: float) -> None:
        """Work remains and no node can take it: say so plainly (never stall silently)."""
        work_left = self.ledger.pending > 0 or len(self.ledger) < self.planned
        reason = None
        if self.state == SearchState.RUNNING and work_left and not self.leases:
            reason = self.nodes.why_none_can_work()
        if reason is None:
            if self._stall_reported is not None:
                self.emit(ev.SearchStalled, now, reason=None, since=self.stalled_since or now)
            self.stalled_since = self.stall_reason = self._stall_reported = None
            return
        if self.stalled_since is None:
            self.stalled_since = now
        self.stall_reason = reason
        lasted = now - self.stalled_since >= STALL_REPORT_AFTER_S
        if lasted and reason != self._stall_reported:
            self._stall_reported = reason
            self.emit(ev.SearchStalled, now, reason=reason, since=self.stalled_since)

    def _set_state(self, state: SearchState, now: float) -> None:
        if state != self.state:
            self.state = state
            self._out.checkpoint = True
            self.emit(ev.SearchStateChanged, now, state=str(state))

    def announce_join(self, node: NodeInfo, rejoined: bool, now: float) -> None:
        self.emit(
            ev.NodeJoined,
            now,
            node_id=node.node_id,
            host=node.host,
            address=node.address,
            slots=node.slots,
            rejoined=rejoined,
            warning=_version_warning(node, self.console_versions),
        )

    # -- output --------------------------------------------------------------------------------

    def send(self, node: NodeInfo, msg: p.Message) -> None:
        self._out.sends.append((node.routing_id, msg))

    def send_to(self, routing_id: bytes, msg: p.Message) -> None:
        self._out.sends.append((routing_id, msg))

    def ack(self, peer: Peer, msg: p.Result, verdict: str) -> None:
        # Held until the end of the tick: it rides on the next TASK to that node if there is
        # one, and the shell journals before anything is sent.
        ack = p.Ack(trial_id=msg.trial_id, lease_id=msg.lease_id, verdict=verdict)
        self._acks.setdefault(peer.routing_id, []).append(ack)

    def take_acks(self, node: NodeInfo) -> tuple[str, ...]:
        """The ACKs waiting for `node`'s connection, to ride on a TASK to it."""
        return tuple(ack.lease_id for ack in self._acks.pop(node.routing_id, ()))

    def _flush_acks(self) -> None:
        for routing_id, acks in self._acks.items():
            self._out.sends += [(routing_id, ack) for ack in acks]
        self._acks.clear()

    def journal_trial(self, trial: Trial) -> None:
        self._out.journal.append(trial.record())

    def emit(self, kind: type[ev.Event], now: float, **fields: Any) -> None:
        self._out.events.append(kind(at=now, **fields))

    def _take(self) -> Output:
        out, self._out = self._out, Output()
        return out


def _version_warning(node: NodeInfo, ours: dict[str, str]) -> str | None:
    return version_mismatch(node.versions, ours) if ours else None
