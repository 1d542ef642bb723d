"""Attached to a console over its control socket: the TUI's link when the search runs elsewhere.

The link sends HELLO and waits for the whole search (a FullState), then keeps the mirror current
from the updates. A missing update (the console dropped some for a slow link) asks for the whole
search again. It pings every second, and says when the console has gone quiet or has exited;
libzmq reconnects by itself, and a HELLO is sent again once the console answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from typing import Any

import zmq
import zmq.asyncio
from zmq.utils.monitor import recv_monitor_message

from console.attach import wire
from console.attach.registry import AttachError
from console.link.operators import OperatorKeys
from console.view.mirror import SearchMirror
from console.view.models import Reply

log = logging.getLogger("hpo.attach")

PING_EVERY_S = 1.0
QUIET_AFTER_S = 3.0  # no update for this long: the console is busy, gone, or the link is down
COMMAND_TIMEOUT_S = 60.0  # an open or a resume pre-flights the search: seconds, not minutes
ATTACH_TIMEOUT_S = 15.0


class RemoteLink:
    owns_search = False  # q detaches; the search goes on in the console

    def __init__(
        self,
        address: str,
        keys: OperatorKeys | None = None,
        timeout_s: float = ATTACH_TIMEOUT_S,
    ) -> None:
        if address.startswith("tcp://") and keys is None:
            raise AttachError(
                f"{address}: attaching over TCP needs an operator key: --key DIR (a bundle from "
                "'hpo-console keys add-operator KEYS NAME' on the console's host)"
            )
        self.address = address
        self.keys = keys
        self.timeout_s = timeout_s
        self.mirror = SearchMirror()
        self.problem: str | None = None
        self._ctx: zmq.asyncio.Context | None = None
        self._sock: zmq.asyncio.Socket | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last_heard = 0.0
        self._refused: str | None = None
        self._exited = False

    async def start(self) -> None:
        """Connect and wait for the whole search; AttachError naming the reason if it fails."""
        self._ctx = zmq.asyncio.Context()
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        if self.keys is not None:
            sock.curve_secretkey = self.keys.own.secret
            sock.curve_publickey = self.keys.own.public
            sock.curve_serverkey = self.keys.console_public
        monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        sock.connect(self.address)
        self._sock = sock
        self._tasks.append(asyncio.create_task(self._watch_auth(monitor)))
        self._send(wire.HELLO, {"version": 1})
        self._tasks.append(asyncio.create_task(self._receive()))
        deadline = time.monotonic() + self.timeout_s
        while not self.mirror.ready:
            if self._refused:
                raise AttachError(self._refused)
            if time.monotonic() > deadline:
                raise AttachError(
                    f"no answer from a console at {self.address} within {self.timeout_s:g} s "
                    "(is it running? is this the address it printed?)"
                )
            await asyncio.sleep(0.05)
        self._tasks.append(asyncio.create_task(self._keep_alive()))

    async def command(self, name: str, **args: Any) -> Reply:
        request_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self._send(wire.CMD, {"id": request_id, "name": name, "args": args})
        try:
            return await asyncio.wait_for(future, COMMAND_TIMEOUT_S)
        except TimeoutError:
            raise TimeoutError(
                f"the console did not answer within {COMMAND_TIMEOUT_S:g} s"
            ) from None
        finally:
            self._waiting.pop(request_id, None)

    async def close(self) -> None:
        if self._sock is None:
            return
        with contextlib.suppress(zmq.ZMQError):
            self._send(wire.BYE, {})
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._sock.disable_monitor()
        self._sock.close(linger=200)  # the BYE goes out
        self._sock = None
        if self._ctx is not None:
            self._ctx.term()

    # -- inside --------------------------------------------------------------------------------

    def _send(self, kind: bytes, body: Any) -> None:
        assert self._sock is not None
        self._sock.send_multipart(wire.frames(kind, body), flags=zmq.NOBLOCK)

    async def _receive(self) -> None:
        assert self._sock is not None
        while True:
            parts = await self._sock.recv_multipart()
            self._last_heard = time.monotonic()
            if not self._exited:
                self.problem = None
            try:
                self._handle(parts)
            except wire.WireError as exc:  # a console of another version, or a bug: say so
                log.warning("ignored a message from the console: %s", exc)

    def _handle(self, parts: list[bytes]) -> None:
        kind, body = wire.parse(parts)
        if kind in (wire.STATE, wire.UPDATE):
            if not self.mirror.apply(wire.read_view(kind, body)):
                self._send(wire.HELLO, {"version": 1})  # an update went missing: all again
        elif kind == wire.REPLY:
            request_id, reply = wire.read_reply(body)
            future = self._waiting.get(request_id)
            if future is not None and not future.done():
                future.set_result(reply)
        elif kind == wire.BYE:
            self._exited = True
            reason = body.get("reason", "") if isinstance(body, dict) else ""
            self.problem = f"{reason or 'the console has exited'}: q to leave"

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY_S)
            with contextlib.suppress(zmq.ZMQError):
                self._send(wire.PING, {})
            quiet = time.monotonic() - self._last_heard
            if quiet > QUIET_AFTER_S and not self._exited:
                self.problem = f"no word from the console at {self.address} for {quiet:.0f} s"
                # It may have restarted: ask for everything again (harmless if it is only slow).
                with contextlib.suppress(zmq.ZMQError):
                    self._send(wire.HELLO, {"version": 1})

    async def _watch_auth(self, monitor: zmq.asyncio.Socket) -> None:
        try:
            while True:
                event = await recv_monitor_message(monitor)
                if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                    self._refused = (
                        f"the console at {self.address} refused this operator key: it is not "
                        "allow-listed there ('hpo-console keys add-operator' on its host)"
                    )
                    self.problem = self._refused
        finally:
            monitor.close(linger=0)
