"""The node supervisor: one DEALER to the console, heartbeats, a result outbox, trial slots.

Single-threaded by design (Paranoid Pirate style): one ``zmq.Poller`` watches the console socket
and every slot's pipe, so there are no locks and the socket is only ever touched by this thread.
Trials run in child processes (``SlotProcess``): heartbeats keep flowing while a model trains.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import zmq

from node import package_version
from node import protocol as p
from node.curve import NodeKeys
from node.handshake import HandshakeWatch
from node.identity import default_node_id
from node.runner import SlotProcess
from node.transport import make_dealer

log = logging.getLogger("hpo.node")
QUIET_AFTER_ATTEMPTS = 3  # reconnect warnings after this many in a row: once a minute


@dataclass
class NodeConfig:
    """Everything a node needs to know; filled from flags or environment variables."""

    connect: str
    slots: int
    node_id: str = field(default_factory=default_node_id)  # HOST-PID; HOST in a container
    heartbeat_s: float = 1.0
    prefetch: int = 0  # tasks held beyond `slots`, to hide the round trip for very short trials
    max_backoff_s: float = 8.0
    parent_pid: int | None = None  # exit when this process is gone (local nodes of a console)
    keys: NodeKeys | None = None  # CURVE keys; None: plaintext (a console on loopback)
    exit_when_done: bool = False  # exit 0 when the console says its search is over


def _versions() -> dict[str, str]:
    import platform

    import sklearn

    return {
        "zmq_hpo": package_version(),
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "zmq": zmq.zmq_version(),
    }


class NodeSupervisor:
    """Runs the node until SIGTERM/SIGINT, a DISCONNECT, or its parent's exit."""

    def __init__(self, config: NodeConfig) -> None:
        self.cfg = config
        self.ctx = zmq.Context.instance()
        self.slots = [SlotProcess(i) for i in range(config.slots)]
        self.waiting: deque[p.Task] = deque()  # tasks received, no free slot yet
        # What each slot is running and since when; our own record, so a result can always be
        # matched to its task even after the slot has reset itself.
        self.running: list[p.Task | None] = [None] * config.slots
        self.started_at: list[float] = [0.0] * config.slots
        self.outbox: dict[str, p.Result] = {}  # lease id -> RESULT, until ACKed
        self.search = ""  # the console's search hash, from WELCOME
        self.sock: zmq.Socket | None = None
        self.handshake: HandshakeWatch | None = None
        self.welcomed = False
        self.last_heard = 0.0
        self.last_beat = 0.0
        self.reconnects = 0
        self.stop_requested = False
        self.exit_code = 0
        self.search_over = False  # the console said its search finished: reconnect quietly
        self.last_warned = 0.0

    # -- lifecycle -----------------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self._connect()
        try:
            while not self.stop_requested:
                self._poll_once()
                self._tick()
            self._say_goodbye()
        finally:
            for slot in self.slots:
                slot.close()
            self._close_socket()
        return self.exit_code

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info("node %s: %s received, stopping", self.cfg.node_id, signal.Signals(signum).name)
        self.stop_requested = True

    def _connect(self) -> None:
        self._close_socket()
        self.sock = make_dealer(self.ctx, self.cfg.connect, keys=self.cfg.keys)
        self.handshake = HandshakeWatch(self.sock, curve=self.cfg.keys is not None)
        self.welcomed = False
        self.last_heard = time.monotonic()
        self._send(
            p.Hello(
                node_id=self.cfg.node_id,
                protocol=p.PROTOCOL_VERSION,
                slots=self.cfg.slots,
                prefetch=self.cfg.prefetch,
                host=socket.gethostname(),
                running=self._busy_leases() + tuple(_held(r) for r in self.outbox.values()),
                versions=_versions(),
            )
        )

    def _close_socket(self, linger_ms: int = 0) -> None:
        if self.handshake is not None:
            self.handshake.close()
            self.handshake = None
        if self.sock is not None:
            self.sock.close(linger=linger_ms)
            self.sock = None

    def _reconnect_after_silence(self) -> None:
        """The console went quiet: back off (capped, jittered), then connect afresh and re-HELLO."""
        self.reconnects += 1
        delay = min(self.cfg.max_backoff_s, self.cfg.heartbeat_s * 2 ** min(self.reconnects, 6))
        delay *= random.uniform(0.5, 1.0)
        refused = self.handshake.problem() if self.handshake is not None else None
        what = "went silent" if self.welcomed else "did not answer (is it running? right address?)"
        what = refused or what
        log.log(
            self._reconnect_log_level(),
            "node %s: the console at %s %s; reconnecting in %.1fs",
            self.cfg.node_id,
            self.cfg.connect,
            what,
            delay,
        )
        self._close_socket()
        resume_at = time.monotonic() + delay
        while time.monotonic() < resume_at and not self.stop_requested:
            self._poll_once(timeout_s=min(0.1, resume_at - time.monotonic()))
            self._enforce_deadlines()
            if self._parent_gone():
                return
        if not self.stop_requested:
            self._connect()

    def _reconnect_log_level(self) -> int:
        """WARNING for the first few attempts, then once a minute; DEBUG after a finished search
        (the console said goodbye: waiting for the next one is not a problem)."""
        now = time.monotonic()
        if self.search_over:
            return logging.DEBUG
        if self.reconnects <= QUIET_AFTER_ATTEMPTS or now - self.last_warned >= 60.0:
            self.last_warned = now
            return logging.WARNING
        return logging.DEBUG

    def _search_over(self, msg: p.SearchOver) -> None:
        if self.cfg.exit_when_done:
            log.info("node %s: the search is over (%s); exiting", self.cfg.node_id, msg.reason)
            self.stop_requested = True
        elif not self.search_over:
            log.info(
                "node %s: the search is over (%s); waiting quietly for the next console at %s",
                self.cfg.node_id,
                msg.reason,
                self.cfg.connect,
            )
        self.search_over = True

    def _say_goodbye(self) -> None:
        """SIGTERM path: stop running trials and hand their leases back in one BYE."""
        handed_back = self._busy_leases()
        self.waiting.clear()
        for index, task in enumerate(self.running):
            if task is not None:
                self.slots[index].kill(p.STATUS_CANCELLED, "node stopping", respawn=False)
                self.running[index] = None
        if self.sock is not None and self.welcomed:
            self._send(p.Bye(node_id=self.cfg.node_id, running=handed_back))
            # Give the BYE a moment to leave; the console requeues on silence anyway.
            self._close_socket(linger_ms=1000)
        log.info("node %s: stopped, %d lease(s) handed back", self.cfg.node_id, len(handed_back))

    # -- the loop ------------------------------------------------------------------------------

    def _poll_once(self, timeout_s: float | None = None) -> None:
        poller = zmq.Poller()
        if self.sock is not None:
            poller.register(self.sock, zmq.POLLIN)
        for slot in self.slots:
            poller.register(slot.fileno(), zmq.POLLIN)
        wait = self.cfg.heartbeat_s / 4 if timeout_s is None else max(timeout_s, 0.0)
        ready = dict(poller.poll(wait * 1000))
        if self.sock is not None and self.sock in ready:
            self._drain_socket()
        for index, slot in enumerate(self.slots):
            if slot.fileno() in ready:
                for kind, body in slot.poll_events():
                    self._on_slot_event(index, kind, body)
        self._start_waiting()

    def _tick(self) -> None:
        now = time.monotonic()
        self._enforce_deadlines()
        if self._parent_gone():
            log.info("node %s: parent process gone, exiting", self.cfg.node_id)
            self.stop_requested = True
            return
        if now - self.last_heard > p.LIVENESS_BEATS * self.cfg.heartbeat_s:
            self._reconnect_after_silence()
            return
        if self.welcomed and now - self.last_beat >= self.cfg.heartbeat_s:
            self._send(p.Heartbeat(node_id=self.cfg.node_id, running=self._busy_leases()))

    def _parent_gone(self) -> bool:
        return self.cfg.parent_pid is not None and os.getppid() != self.cfg.parent_pid

    def _drain_socket(self) -> None:
        assert self.sock is not None
        while True:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = p.decode(frames)
            except p.ProtocolError as exc:
                log.warning(
                    "node %s: dropped a bad message from the console: %s", self.cfg.node_id, exc
                )
                continue
            self.last_heard = time.monotonic()
            self._on_message(msg)
            if self.sock is None:
                return

    def _on_message(self, msg: p.Message) -> None:
        match msg:
            case p.Welcome():
                self.welcomed = True
                self.search_over = False
                self.reconnects = 0
                self.search = msg.search
                self.cfg.heartbeat_s = msg.heartbeat_s
                for result in self.outbox.values():  # results the previous console never ACKed
                    self._send(result)
            case p.Task():
                for lease_id in msg.acks:  # ACKs riding on the task
                    self.outbox.pop(lease_id, None)
                self.waiting.append(msg)
            case p.Ack():
                self.outbox.pop(msg.lease_id, None)
            case p.Cancel():
                self._cancel(msg.lease_id, msg.reason)
            case p.Disconnect():
                log.info("node %s: console asked us to leave: %s", self.cfg.node_id, msg.reason)
                self.stop_requested = True
            case p.SearchOver():
                self._search_over(msg)

    def _cancel(self, lease_id: str, reason: str) -> None:
        for task in list(self.waiting):
            if task.lease_id == lease_id:
                self.waiting.remove(task)
                self._send_result(task, self._empty_result(p.STATUS_CANCELLED, reason))
        for index, task in enumerate(self.running):
            if task is not None and task.lease_id == lease_id:
                self._finish(index, self.slots[index].kill(p.STATUS_CANCELLED, reason))
                log.info(
                    "node %s: trial %s cancelled (%s)", self.cfg.node_id, task.trial_id, reason
                )

    def _start_waiting(self) -> None:
        for index, slot in enumerate(self.slots):
            if not self.waiting:
                return
            if self.running[index] is None:
                task = self.waiting.popleft()
                slot.start(task.to_body())
                self.running[index] = task
                self.started_at[index] = time.monotonic()
                log.info(
                    "node %s: trial %s started (lease %s), attempt %s, folds %s",
                    self.cfg.node_id,
                    task.trial_id,
                    task.lease_id,
                    task.attempt,
                    ",".join(map(str, task.folds)) if task.folds else "all",
                )

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for index, task in enumerate(self.running):
            if task is not None and now - self.started_at[index] > task.timeout_s:
                reason = f"trial exceeded its {task.timeout_s:g}s deadline"
                self._finish(index, self.slots[index].kill(p.STATUS_TIMEOUT, reason))

    def _on_slot_event(self, index: int, kind: str, body: dict[str, Any]) -> None:
        task = self.running[index]
        if task is None:
            return
        if kind == "progress":
            self._send(
                p.Progress(
                    node_id=self.cfg.node_id,
                    trial_id=task.trial_id,
                    lease_id=task.lease_id,
                    fold=body["fold"],
                    folds=body["folds"],
                    score=body["score"],
                    scores=body.get("scores") or {},
                )
            )
        elif kind == "result":
            self._finish(index, body)

    def _finish(self, index: int, outcome: dict[str, Any]) -> None:
        task = self.running[index]
        self.running[index] = None
        if task is not None:
            self._send_result(task, outcome)

    def _send_result(self, task: p.Task, outcome: dict[str, Any]) -> None:
        result = p.Result(
            node_id=self.cfg.node_id,
            trial_id=task.trial_id,
            lease_id=task.lease_id,
            attempt=task.attempt,
            search=task.search,
            params=task.params,
            status=outcome["status"],
            mean=outcome.get("mean"),
            std=outcome.get("std"),
            fold_scores=tuple(outcome.get("fold_scores", ())),
            fit_time_s=outcome.get("fit_time_s", 0.0),
            error=outcome.get("error"),
            folds=tuple(outcome.get("folds", ())),
            scores=outcome.get("scores") or {},
        )
        if result.status != p.STATUS_CANCELLED:
            self.outbox[task.lease_id] = result  # kept until the console ACKs it
        self._send(result)

    @staticmethod
    def _empty_result(status: str, reason: str) -> dict[str, Any]:
        return {
            "status": status,
            "mean": None,
            "std": None,
            "fold_scores": [],
            "fit_time_s": 0.0,
            "error": reason,
        }

    def _busy_leases(self) -> tuple[p.HeldLease, ...]:
        """Leases occupying this node: running or waiting for a slot.

        HELLO adds the outbox (results not yet ACKed), so a new console keeps those leases until
        the resent results arrive. HEARTBEAT leaves it out: a result already on its way would
        otherwise be counted as busy until the next beat.
        """
        busy = [_held(t) for t in self.waiting]
        busy += [_held(t) for t in self.running if t is not None]
        return tuple(busy)

    def _send(self, msg: p.Message) -> None:
        if self.sock is None:
            return
        try:
            self.sock.send_multipart(p.encode(msg), zmq.NOBLOCK)
            self.last_beat = time.monotonic()
        except zmq.Again:
            log.warning("node %s: send queue full, dropped %s", self.cfg.node_id, msg.KIND)


def _held(task_or_result: p.Task | p.Result) -> p.HeldLease:
    """How a lease is reported in HELLO/HEARTBEAT: enough for a console to adopt it."""
    t = task_or_result
    return p.HeldLease(t.lease_id, t.trial_id, t.attempt, t.search, t.params)
