"""The scheduler: producer and collector of the search over one ROUTER socket (no Textual here).

Producer: asks the strategy for trials and sends each to a node with free credit, under a lease.
Collector: records each trial's first valid result (journal first, then ACK), requeues trials whose
lease died (node lost, BYE, deadline, send failure) and keeps the checkpoint fresh.
Front ends drive it with plain methods and hear from it through `on_event`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from console.keyring import ConsoleKeys, is_loopback
from console.scheduler import events as ev
from console.scheduler.checkpoint import Checkpointer, restore_ledger
from console.scheduler.collector import Collector
from console.scheduler.dispatch import LeaseKeeping
from console.scheduler.gatekeeper import Gatekeeper, RefusalLog
from console.scheduler.ledger import Ledger
from console.scheduler.nodes import NodeBook, NodeInfo, version_mismatch
from console.scheduler.snapshot import Snapshot, take_snapshot
from console.search.base import Strategy
from console.searchfile import SavedState, SearchSpec
from node import package_version
from node import protocol as p
from node.transport import make_router, parse_routed

log = logging.getLogger("hpo.scheduler")

MAX_MESSAGES_PER_WAKE = 1000  # keep timers honest under a flood
# What a node must match for its scores to compare with the others' (as nodes report them).
CONSOLE_VERSIONS = {"sklearn": metadata.version("scikit-learn"), "zmq_hpo": package_version()}


class Scheduler(Collector, LeaseKeeping):
    """Runs one search. Create it anywhere; `run()` must be awaited inside the event loop."""

    def __init__(
        self,
        spec: SearchSpec,
        checkpoint_path: Path,
        *,
        state: SavedState | None = None,
        bind: str | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        exit_when_done: bool = True,
        clock: Callable[[], float] = time.monotonic,
        keys: ConsoleKeys | None = None,
    ) -> None:
        self.spec = spec
        self.bind = bind or spec.cluster.bind
        self.keys = keys  # None: plaintext (the front end allows that on loopback only)
        self.heartbeat_s = spec.cluster.heartbeat_s
        self.on_event = on_event or (lambda _event: None)
        self.exit_when_done = exit_when_done
        self.clock = clock
        self.search_hash = spec.config_hash()
        self.ledger: Ledger
        self.strategy: Strategy
        self.ledger, self.strategy = restore_ledger(spec, state, checkpoint_path)
        self.planned = self.strategy.planned_total()
        self.nodes = NodeBook()
        self.checkpointer = Checkpointer(spec, checkpoint_path, self.ledger)
        self.state = "paused" if state is not None and state.status == "paused" else "running"
        self.endpoint = ""  # the address actually bound (port 0 picks a free one)
        self.ready = asyncio.Event()
        self.dropped = 0
        self.started = clock()
        self._lease_ids = (f"{secrets.token_hex(3)}-{n}" for n in itertools.count(1))
        self._lease_deadline: dict[str, float] = {}  # live leases -> when to give up on them
        self._lease_trial: dict[str, int] = {}  # every lease issued in this run -> its trial
        self._stop_requested = False
        self._last_ping = 0.0
        self.refusals = RefusalLog(self._report_refusal, clock)
        self._sock: zmq.Socket | None = None
        self._peer_frame: zmq.Frame | None = None  # first frame of the message being handled
        self._acks: dict[bytes, list[dict[str, Any]]] = {}  # routing id -> ACKs not yet sent

    # -- controls (call from the event loop's thread) -----------------------------------------

    def pause(self) -> None:
        """Dispatch nothing more; running trials finish and are recorded. Checkpoints at once."""
        if self.state == "running":
            self._set_state("paused")
            self._save_checkpoint()

    def resume(self) -> None:
        """Dispatch again after pause()."""
        if self.state in ("paused", "finished"):
            self._set_state("running")
            self._dispatch_now()

    def stop(self) -> None:
        """Cancel running trials (saved back as pending), checkpoint, and return from run()."""
        self._stop_requested = True

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    def drain(self, node_id: str, draining: bool = True) -> bool:
        """Let a node finish its trials but give it no more.

        draining=False undoes it, and also releases a quarantined node (the operator has
        looked at it). Returns False for an unknown node.
        """
        node = self.nodes.get(node_id)
        if node is None:
            return False
        node.draining = draining
        if not draining:
            node.strikes = 0
        self._dispatch_now()
        return True

    def retry_failed(self) -> int:
        """Failed trials go back to the queue with a fresh retry budget; returns how many."""
        retried = self.ledger.retry_failed()
        for trial_id in retried:
            self._emit(ev.TrialRequeued, trial_id=trial_id, reason="retry requested")
        if retried and self.state == "finished":
            self._set_state("running")
        self._dispatch_now()
        return len(retried)

    def save(self, path: Path | None = None) -> Path:
        """Checkpoint now; with `path`, also checkpoint there from now on ("save as").

        Raises OSError if the new file cannot be written (the old one stays the checkpoint).
        """
        self.checkpointer.flush_journal()
        self._save_checkpoint()
        if path is not None and path != self.checkpointer.path:
            old = self.checkpointer.path
            self.checkpointer.retarget(path)
            try:
                self.checkpointer.save(self.state)
            except OSError:
                self.checkpointer.retarget(old)
                raise
            self._emit(ev.Checkpointed, path=str(path), trials_done=self.ledger.done)
        return self.checkpointer.path

    def _dispatch_now(self) -> None:
        """Controls run on the loop's thread while it waits: dispatch without waiting for a poll."""
        if self._sock is not None:
            self._dispatch()

    def snapshot(self) -> Snapshot:
        """A frozen picture of the search for front ends."""
        return take_snapshot(self)

    # -- main loop -----------------------------------------------------------------------------

    async def run(self) -> str:
        """Serve until finished (if exit_when_done) or stopped; returns the final state."""
        gatekeeper: Gatekeeper | None = None
        if self.keys is None:
            ctx = zmq.asyncio.Context.instance()
            self._poller_sock = make_router(ctx, self.bind)
        else:  # a context of its own: its ZAP handler address must be ours alone
            ctx = zmq.asyncio.Context()
            gatekeeper = Gatekeeper(ctx, self.keys, self.refusals)
            gatekeeper.start()  # before the bind: no moment without a gatekeeper
            try:
                self._poller_sock = make_router(ctx, self.bind, gatekeeper.router_options())
            except BaseException:
                await gatekeeper.close()
                ctx.destroy(linger=0)
                raise
            gatekeeper.watch(self._poller_sock)
        # The asyncio socket is only awaited for readiness; all sends and receives go through a
        # plain (synchronous, non-blocking) shadow of the same socket, on this same thread, which
        # avoids a Future per message on the hot path.
        self._sock = zmq.Socket.shadow(self._poller_sock.underlying)
        self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.ready.set()
        self._emit(ev.SearchStateChanged, state=self.state)
        try:
            while not self._stop_requested:
                if await self._poller_sock.poll(timeout=self._poll_ms()):
                    self._drain_socket()
                self.checkpointer.flush_journal()  # results are durable before any ACK leaves
                self._housekeeping()
                self._dispatch()
                self._send_acks()
                if self._check_finished() and self.exit_when_done:
                    break
            if self._stop_requested:
                self._cancel_all_leases("search stopped")
                if self.state != "finished":  # stopping a finished search leaves it finished
                    self._set_state("stopped")
        except Exception as exc:  # never lose the ledger to a bug: checkpoint, then re-raise
            log.exception("scheduler failed")
            self._emit(ev.SchedulerError, message=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.checkpointer.flush_journal()
            self._send_acks()
            self._save_checkpoint()
            self._sock = None
            self._poller_sock.close(linger=200)
            if gatekeeper is not None:
                await gatekeeper.close()
                ctx.destroy(linger=0)
        return self.state

    def _poll_ms(self) -> int:
        return int(min(100.0, self.heartbeat_s * 250))

    def _drain_socket(self) -> None:
        assert self._sock is not None
        for _ in range(MAX_MESSAGES_PER_WAKE):
            try:
                # Frames (not bytes) so a bad message can be traced to its sender's address.
                frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self._on_frames(frames)

    def _on_frames(self, frames: list[zmq.Frame]) -> None:
        self._peer_frame = frames[0]
        data = [frame.bytes for frame in frames]
        try:
            routing_id, msg = parse_routed(data)
            self._handle(routing_id, msg)
        except p.ProtocolError as exc:
            self._drop(str(exc))
        except (KeyError, TypeError, ValueError) as exc:  # valid frame, nonsensical content
            self._drop(f"{type(exc).__name__}: {exc}")

    def _peer_address(self) -> str:
        """The IP address of the peer whose message is being handled."""
        return self._peer_property("Peer-Address") or "unknown address"

    def _peer_property(self, name: str) -> str:
        """A connection property of the current message's sender ("User-Id": its key's name)."""
        try:
            return self._peer_frame.get(name)  # type: ignore[union-attr]
        except (AttributeError, zmq.ZMQError):
            return ""

    @property
    def link_security(self) -> str:
        """ "CURVE", "INSECURE" (plaintext beyond loopback, allowed by --insecure) or ""."""
        if self.keys is not None:
            return "CURVE"
        return "" if is_loopback(self.bind) else "INSECURE"

    @property
    def listening_on(self) -> str:
        """The address and who can use it, for the front ends' first line."""
        who = {
            "CURVE": "CURVE: allow-listed node keys only",
            "INSECURE": "plaintext: INSECURE, any host that reaches it may join",
        }.get(self.link_security, "plaintext, this machine only")
        return f"{self.endpoint} ({who})"

    def _report_refusal(self, peer: str, reason: str, repeats: int) -> None:
        self._emit(ev.ConnectionRefused, peer=peer, reason=reason, repeats=repeats)

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        routing_id = self._peer_frame.bytes if self._peer_frame is not None else b""
        peer = f"{self._peer_address()} (routing id {routing_id.hex()[:10] or '-'})"
        log.warning("dropped a message from peer %s: %s", peer, reason)
        self._emit(ev.MessageDropped, peer=peer, reason=reason, total_dropped=self.dropped)

    # -- inbound -------------------------------------------------------------------------------

    def _handle(self, routing_id: bytes, msg: p.Message) -> None:
        # Every check first: a bad message must leave no trace in the scheduler's state.
        if msg.kind not in p.NODE_TO_CONSOLE:
            raise p.ProtocolError(f"{msg.kind} is not a node-to-console message")
        if msg.kind in (p.RESULT, p.PROGRESS):
            p.check_outcome(msg)
        body = msg.body
        if msg.kind == p.HELLO:
            self._on_hello(routing_id, body)
            return
        node = self.nodes.get(body.get("node_id", ""))
        if node is not None:
            node.last_seen = self.clock()
            if node.gone == "lost":  # it was only silent (e.g. SIGSTOP): take it back
                node.gone, node.routing_id = None, routing_id
                self._announce_join(node, rejoined=True)
        if msg.kind == p.RESULT:
            self._on_result(routing_id, node, body)
        elif msg.kind == p.PROGRESS and node is not None:
            self._on_progress(node, body)
        elif msg.kind == p.HEARTBEAT and node is not None:
            self._reconcile_running(node, p.held_leases(body["running"]))
        elif msg.kind == p.BYE and node is not None:
            self._lose_node(node, "left", "bye", count_failure=False)

    def _on_hello(self, routing_id: bytes, body: dict[str, Any]) -> None:
        if body["protocol"] != p.PROTOCOL_VERSION:
            self._send(
                routing_id,
                p.DISCONNECT,
                {
                    "reason": f"protocol {body['protocol']} unsupported (console speaks "
                    f"{p.PROTOCOL_VERSION})"
                },
            )
            raise p.ProtocolError(f"node {body['node_id']!r} speaks protocol {body['protocol']}")
        if not 1 <= body["slots"] <= 1024 or not 0 <= body["prefetch"] <= 64:
            raise p.ProtocolError("HELLO slots or prefetch out of range")
        now = self.clock()
        node = self.nodes.get(body["node_id"])
        rejoined = node is not None
        if node is None:
            node = NodeInfo(
                node_id=body["node_id"],
                routing_id=routing_id,
                host=body["host"][:100],
                slots=body["slots"],
                prefetch=body["prefetch"],
                last_seen=now,
            )
            self.nodes.add(node)
        node.routing_id, node.last_seen, node.gone = routing_id, now, None
        node.address = self._peer_address()
        node.key_name = self._peer_property("User-Id")
        node.slots, node.prefetch, node.versions = body["slots"], body["prefetch"], body["versions"]
        # Leases this node no longer holds were lost while it was away: requeue them.
        held = p.held_leases(body["running"])
        for lease_id in list(node.leases - held.keys()):
            self._end_lease(node, lease_id, "node restarted", count_failure=True)
        self._send(
            routing_id,
            p.WELCOME,
            {
                "protocol": p.PROTOCOL_VERSION,
                "heartbeat_s": self.heartbeat_s,
                "search": self.search_hash,
            },
        )
        self._announce_join(node, rejoined)
        self._reconcile_running(node, held)

    def _announce_join(self, node: NodeInfo, rejoined: bool) -> None:
        self._emit(
            ev.NodeJoined,
            node_id=node.node_id,
            host=node.host,
            address=node.address,
            slots=node.slots,
            rejoined=rejoined,
            warning=version_mismatch(node.versions, CONSOLE_VERSIONS),
        )

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._emit(ev.SearchStateChanged, state=state)

    def _emit(self, kind: type[ev.Event], **fields: Any) -> None:
        try:
            self.on_event(kind(at=self.clock(), **fields))
        except Exception:  # a broken front end must not stop the search
            log.exception("event handler failed for %s", kind.__name__)
