"""CurveZMQ on the console's ROUTER: who may connect, and a record of everyone refused.

The router is a CURVE server behind a ZAP handler (console/link/zap.py) that accepts the keys
`ConsoleKeys.allowed()` lists; while no handler answers, nothing is let in.

A peer that does not speak CURVE at all (a node started without keys), or that has the wrong console
key, never reaches ZAP: libzmq drops it during the greeting. The router's monitor reports that, and
`ClosedPeers` finds out who it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from console.link import zap
from console.link.closed_peers import ClosedPeers
from console.link.keyring import ConsoleKeys

log = logging.getLogger("hpo.gatekeeper")

ZAP_DOMAIN = b"zmq-hpo"
REPORT_EVERY_S = 60.0  # a refused peer retries every few seconds: report it once, then a count

# libzmq's ZMQ_PROTOCOL_ERROR_* codes that a refused peer can cause, in words.
_HANDSHAKE_ERRORS = {
    0x11000001: "its CURVE handshake failed (does its bundle hold this console's public key?)",
    0x11000002: "it does not use CURVE (a node started without --keys?)",
}
# NO_DETAIL is the peer hanging up mid-handshake. It proves nothing about the peer's keys: a
# keyed node does it when it gives up waiting (a console busy starting, ZAP answered late), and a
# plaintext node does it on some attempts, when it reads the console's CURVE greeting before the
# console reads its own. So it is watched (every failure must claim its DISCONNECTED, or the next
# refusal would name the wrong peer) but one alone is never reported as a refusal: a plaintext node
# retries every few hundred milliseconds, and most of its attempts fail conclusively ("does not
# use CURVE"). On a busy console, though, every attempt can end that way; so a run of them from one
# host that never gets in is reported (`RefusalLog.hung_up`).
_MONITORED = (
    zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
CLAIM_WITHIN_S = 2.0  # a closed connection older than this belongs to no pending failure
HUNG_UP = "it hung up during the CURVE handshake"  # in the diagnostics log only: not a refusal
# A keyed node that gives up waiting gets in on a later try; this many hang-ups in a row from one
# host, none of them let in, is a node that cannot: report it.
HANG_UPS_BEFORE_REFUSAL = 5
HUNG_UP_AGAIN = (
    f"it hung up during the CURVE handshake {HANG_UPS_BEFORE_REFUSAL} times in a row and never got"
    " in (a node started without --keys, or with another console's key?)"
)


class RefusalLog:
    """Logs every refusal; tells the operator about a peer once per REPORT_EVERY_S, with a count."""

    def __init__(self, report: Callable[[str, str, int], None], clock: Callable[[], float]) -> None:
        self.report = report
        self.clock = clock
        self.total = 0
        self._last: dict[tuple[str, str], tuple[float, int]] = {}  # -> (reported at, unreported)
        self._hang_ups: dict[str, int] = {}  # host -> hang-ups since it last got in

    def hung_up(self, peer: str) -> None:
        """A peer hung up mid-handshake: proof of nothing once, a refusal when it keeps on."""
        host = _host(peer)
        count = self._hang_ups.get(host, 0) + 1
        if count < HANG_UPS_BEFORE_REFUSAL:
            self._hang_ups[host] = count
            return
        self._hang_ups.pop(host, None)
        self.refused(peer, HUNG_UP_AGAIN)

    def accepted(self, peer: str) -> None:
        """A peer from this host got in: its hang-ups were a keyed node giving up early."""
        self._hang_ups.pop(_host(peer), None)

    def refused(self, peer: str, reason: str) -> None:
        self.total += 1
        log.info("refused a connection from %s: %s", peer, reason)
        now = self.clock()
        key = (_host(peer), reason)
        reported_at, unreported = self._last.get(key, (None, 0))
        unreported += 1
        if reported_at is None or now - reported_at >= REPORT_EVERY_S:
            self.report(peer, reason, unreported)
            reported_at, unreported = now, 0
        self._last[key] = (reported_at, unreported)


def _host(peer: str) -> str:
    """Each retry comes from a new port: the host is what identifies a peer."""
    return peer.rsplit(":", 1)[0]


class Gatekeeper:
    """`start` before the router binds, `watch` it once bound, `close` after it is closed."""

    def __init__(self, ctx: zmq.asyncio.Context, keys: ConsoleKeys, refusals: RefusalLog) -> None:
        self.ctx = ctx
        self.keys = keys
        self.refusals = refusals
        self._tasks: list[asyncio.Task[None]] = []
        self._sockets: list[zmq.Socket] = []
        self._closed: ClosedPeers | None = None  # None: not TCP
        # Handshake failures whose disconnects come next: (reason, whether it is a refusal).
        self._failing: deque[tuple[str, bool]] = deque()
        self._closed_recently: dict[str, float] = {}  # peer -> when its connection closed
        self._monitor_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        handler = zap.bind_handler(self.ctx)  # before the router binds: never without a handler
        self._sockets.append(handler)
        self._tasks.append(asyncio.create_task(zap.serve(handler, self._decide)))

    def router_options(self) -> dict[int, int | bytes]:
        """Socket options that make the router a CURVE server behind this gatekeeper."""
        return zap.curve_server_options(self.keys.own.secret, ZAP_DOMAIN)

    def watch(self, router: zmq.asyncio.Socket) -> None:
        """Hear about peers that fail before ZAP is asked (plaintext, wrong console key).

        Read on a thread of its own: finding who a dropped peer was means scanning the kernel's
        list of closing connections promptly (its entries can be short-lived), retrying for a
        few milliseconds, which must neither wait for the event loop nor hold it up.
        """
        endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        port = endpoint.rsplit(":", 1)[-1]
        self._closed = ClosedPeers(int(port)) if endpoint.startswith("tcp://") else None
        address = f"inproc://hpo-gatekeeper-monitor-{id(self)}"
        router.monitor(address, _MONITORED)
        monitor = zmq.Context.shadow(self.ctx.underlying).socket(zmq.PAIR)
        monitor.connect(address)
        loop = asyncio.get_running_loop()
        self._monitor_thread = threading.Thread(
            target=self._read_monitor, args=(monitor, loop), name="hpo-gatekeeper", daemon=True
        )
        self._monitor_thread.start()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sock in self._sockets:
            sock.close(linger=0)
        if self._monitor_thread is not None:
            self._stopping.set()
            await asyncio.to_thread(self._monitor_thread.join)

    # -- ZAP -----------------------------------------------------------------------------------

    def _decide(self, request: list[bytes]) -> list[bytes]:
        return zap.answer(request, self._node_named, _not_allow_listed, self.refusals)

    def _node_named(self, public: bytes, peer: str) -> str | None:
        name = self.keys.allowed().get(public)
        if name is not None:
            log.debug("accepted node key %s (%s) from %s", name, public.decode(), peer)
            self.refusals.accepted(peer)
        return name

    # -- monitor -------------------------------------------------------------------------------

    def _read_monitor(self, monitor: zmq.Socket, loop: asyncio.AbstractEventLoop) -> None:
        """The monitor thread: the only user of `monitor`, `_closed`, `_closed_recently` and
        `_failing`."""
        try:
            while not self._stopping.is_set():
                if monitor.poll(100):
                    event = parse_monitor_message(monitor.recv_multipart())
                    failure = self._on_monitor_event(event["event"], int(event["value"]))
                    if failure is None:
                        continue
                    peer, reason = failure
                    # The refusal log belongs to the event loop's thread.
                    if reason == HUNG_UP:
                        loop.call_soon_threadsafe(self.refusals.hung_up, peer)
                    else:
                        loop.call_soon_threadsafe(self.refusals.refused, peer, reason)
        finally:
            monitor.close(linger=0)

    def _on_monitor_event(self, kind: int, value: int) -> tuple[str, str] | None:
        """(peer, reason) when a connection was dropped for failing its handshake (reason
        HUNG_UP: the peer hung up, which is not in itself a refusal)."""
        if kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            reason = _HANDSHAKE_ERRORS.get(value, f"handshake failed ({value:#x})")
            self._failing.append((reason, True))
            return None
        if kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            self._failing.append((HUNG_UP, False))
            return None
        # DISCONNECTED. Connections close in bursts (three bad nodes retrying at once, ZAP
        # refusals, nodes leaving), so closed peers wait in a pool for a failure to claim them.
        now = time.monotonic()
        if self._closed is not None:
            attempts = 10 if self._failing and not self._closed_recently else 1
            for peer in self._closed.fresh(attempts):
                self._closed_recently[peer] = now
        for peer, closed_at in list(self._closed_recently.items()):
            if now - closed_at > CLAIM_WITHIN_S:
                del self._closed_recently[peer]
        if not self._failing:
            return None
        reason, refusal = self._failing.popleft()
        peer = "unknown address"
        if self._closed_recently:
            peer = max(self._closed_recently, key=self._closed_recently.__getitem__)
            del self._closed_recently[peer]
        if not refusal:
            log.info("a peer (%s) %s: not a refusal, it may have had keys", peer, reason)
            return None if peer == "unknown address" else (peer, reason)
        return peer, reason


def _not_allow_listed(public: bytes) -> str:
    return f"its key {public.decode()} is not allow-listed (hpo-console keys add-node)"
