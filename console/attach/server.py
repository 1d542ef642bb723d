"""The control endpoint: operators attach here, get the search's view and send commands.

One ROUTER on a Unix socket (always; the file system decides who reaches it) and optionally one on
TCP, which is a CURVE server that lets in only allow-listed operator keys (console/link/operators)
and tells each message's sender by the ZAP user id: read-only keys may only query. Every inbound
frame is checked (console/attach/wire.py); a bad one is dropped and logged, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from console.attach import registry, wire
from console.link import zap
from console.link.gatekeeper import RefusalLog
from console.link.keyring import ConsoleKeys
from console.link.operators import Operator, read_operators
from console.view.codec import to_data
from console.view.models import FullState, Update

if TYPE_CHECKING:
    from console.attach.host import ConsoleHost

log = logging.getLogger("hpo.control")

OPERATOR_SILENT_S = 10.0  # an operator pings every second; after this long it is gone
ZAP_DOMAIN = b"zmq-hpo-operators"
LOCAL_OPERATOR = "local operator"  # who attaches through the Unix socket


@dataclass
class Attached:
    socket: zmq.asyncio.Socket
    routing_id: bytes
    who: str
    full_control: bool
    last_heard: float


class ControlServer:
    """`await start()` once the host runs its search; `await close()` after the host stops."""

    def __init__(
        self,
        host: ConsoleHost,
        checkpoint: Path,
        tcp_bind: str | None = None,
        keys: ConsoleKeys | None = None,
    ) -> None:
        if tcp_bind and keys is None:
            raise ValueError("a TCP control endpoint needs CURVE keys (--keys)")
        self.host = host
        self.checkpoint = checkpoint
        self.tcp_bind = tcp_bind
        self.keys = keys
        self.address = ""
        self.tcp_address = ""
        self.dropped = 0
        self._ctx: zmq.asyncio.Context | None = None
        self._sockets: list[zmq.asyncio.Socket] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._attached: dict[tuple[int, bytes], Attached] = {}
        self._subscription: int | None = None
        self._entry: Path | None = None
        self._refusals = RefusalLog(self._report_refusal, time.monotonic)

    async def start(self) -> None:
        self._ctx = zmq.asyncio.Context()
        folder = registry.runtime_dir()
        stem = registry.stem_for(self.checkpoint)
        unix_path = folder / f"{stem}.sock"
        with contextlib.suppress(FileNotFoundError):
            unix_path.unlink()  # a console killed on this checkpoint left it (the lock is ours)
        self.address = f"ipc://{unix_path}"
        self._listen(self.address, {})
        unix_path.chmod(0o600)
        if self.tcp_bind:
            assert self.keys is not None
            assert self._ctx is not None
            handler = zap.bind_handler(self._ctx)
            self._sockets.append(handler)
            self._tasks.append(asyncio.create_task(zap.serve(handler, self._decide)))
            curve = zap.curve_server_options(self.keys.own.secret, ZAP_DOMAIN)
            sock = self._listen(self.tcp_bind, curve)
            self.tcp_address = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.host.attach_address = self.address
        self._entry = registry.publish(
            self.checkpoint, self.host.opened.spec.name, self.address, self.tcp_address
        )
        self._subscription = self.host.subscribe(self._deliver)

    def _listen(self, address: str, options: dict[int, Any]) -> zmq.asyncio.Socket:
        assert self._ctx is not None
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, 1 << 20)
        sock.setsockopt(zmq.SNDHWM, 200)  # a stalled operator drops updates, then resyncs
        for option, value in options.items():
            sock.setsockopt(option, value)
        sock.bind(address)
        self._sockets.append(sock)
        self._tasks.append(asyncio.create_task(self._serve(sock, curve=bool(options))))
        return sock

    @property
    def operators(self) -> list[str]:
        return sorted(a.who for a in self._attached.values())

    async def close(self) -> None:
        if self._subscription is not None:
            self.host.unsubscribe(self._subscription)
            self._subscription = None
        for attached in list(self._attached.values()):
            self._send(attached, wire.frames(wire.BYE, {"reason": "the console has exited"}))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for sock in self._sockets:
            sock.close(linger=200)  # the BYEs go out
        self._sockets.clear()
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
        registry.unpublish(self._entry)
        if self.address.startswith("ipc://"):
            with contextlib.suppress(FileNotFoundError):
                Path(self.address[len("ipc://") :]).unlink()

    # -- inbound -------------------------------------------------------------------------------

    async def _serve(self, sock: zmq.asyncio.Socket, curve: bool) -> None:
        while True:
            parts = await sock.recv_multipart(copy=False)
            try:
                await self._handle(sock, parts, curve)
            except Exception:  # one operator's message must never take the console down
                log.exception("control message failed")

    async def _handle(self, sock: zmq.asyncio.Socket, parts: list[zmq.Frame], curve: bool) -> None:
        routing_id = parts[0].bytes
        try:
            kind, body = wire.parse([p.bytes for p in parts[1:]], wire.FROM_OPERATOR)
        except wire.WireError as exc:
            self.dropped += 1
            log.warning("dropped a control message: %s", exc)
            return
        key = (id(sock), routing_id)
        attached = self._attached.get(key)
        if attached is None:
            who, full = self._identify(parts[1], curve)
            attached = Attached(sock, routing_id, who, full, time.monotonic())
        attached.last_heard = time.monotonic()
        if kind == wire.HELLO:
            if key not in self._attached:
                self._attached[key] = attached
                role = "" if attached.full_control else " (read-only)"
                self.host.announce(f"{attached.who}{role} attached")
            state = self.host.full_state()
            if state is not None:
                self._send(attached, wire.view_frames(state))
        elif kind == wire.BYE:
            if self._attached.pop(key, None) is not None:
                self.host.announce(f"{attached.who} detached")
        elif kind == wire.CMD:
            await self._command(attached, body)

    def _identify(self, frame: zmq.Frame, curve: bool) -> tuple[str, bool]:
        if not curve:
            return LOCAL_OPERATOR, True
        user = frame.get("User-Id") or ""
        name, _, role = user.partition(":")
        return f"operator {name}", role == "full"

    async def _command(self, attached: Attached, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            self.dropped += 1
            log.warning("dropped a command from %s without an integer id", attached.who)
            return
        reply = await self.host.command(
            body.get("name"), body.get("args", {}), attached.who, attached.full_control
        )
        self._send(attached, wire.frames(wire.REPLY, {"id": body["id"], "reply": to_data(reply)}))

    # -- outbound ------------------------------------------------------------------------------

    def _deliver(self, message: FullState | Update) -> None:
        """The host's subscriber: every attached operator gets every view message."""
        now = time.monotonic()
        for key, attached in list(self._attached.items()):
            if now - attached.last_heard > OPERATOR_SILENT_S:
                del self._attached[key]
                self.host.announce(
                    f"{attached.who} went quiet for {OPERATOR_SILENT_S:g} s: detached"
                )
        if self._attached:
            encoded = wire.view_frames(message)
            for attached in self._attached.values():
                self._send(attached, encoded)

    def _send(self, attached: Attached, frames: list[bytes]) -> None:
        with contextlib.suppress(zmq.ZMQError):  # ROUTER drops at the high-water mark
            attached.socket.send_multipart([attached.routing_id, *frames], flags=zmq.NOBLOCK)

    # -- who may attach over TCP ---------------------------------------------------------------

    def _decide(self, request: list[bytes]) -> list[bytes]:
        return zap.answer(request, self._operator_named, _not_allow_listed, self._refusals)

    def _operator_named(self, public: bytes, _peer: str) -> str | None:
        """`name:role`, the user id each of its messages carries; None if not listed."""
        assert self.keys is not None
        operator: Operator | None = read_operators(self.keys.folder).get(public)
        return None if operator is None else f"{operator.name}:{operator.role}"

    def _report_refusal(self, peer: str, reason: str, repeats: int) -> None:
        again = f" ({repeats} times)" if repeats > 1 else ""
        self.host.announce(f"refused an operator from {peer}: {reason}{again}", "warning")


def _not_allow_listed(public: bytes) -> str:
    return f"operator key {public.decode()} is not allow-listed (keys add-operator)"
