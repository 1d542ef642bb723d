"""The ZAP side of a CURVE server (RFC 27), shared by the node link and the operators' link.

libzmq asks a ZAP handler (an inproc REP socket at a fixed address in the server's context) about
every CURVE handshake. A server made with `curve_server_options` enforces its domain, so while no
handler answers, nothing is let in: the link fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import zmq
import zmq.asyncio
import zmq.utils.z85

ZAP_ENDPOINT = "inproc://zeromq.zap.01"  # fixed by the ZAP specification (RFC 27)
NOT_CURVE = "it does not use CURVE"


class Refusals(Protocol):
    def refused(self, peer: str, reason: str) -> None: ...


def curve_server_options(secret_key: bytes, domain: bytes) -> dict[int, int | bytes]:
    """Socket options that make a socket a CURVE server behind the ZAP handler of `domain`."""
    return {
        zmq.CURVE_SERVER: 1,
        zmq.CURVE_SECRETKEY: secret_key,
        zmq.ZAP_DOMAIN: domain,
        zmq.ZAP_ENFORCE_DOMAIN: 1,
    }


def answer(
    request: list[bytes],
    user_of: Callable[[bytes, str], str | None],
    unlisted: Callable[[bytes], str],
    refusals: Refusals,
) -> list[bytes]:
    """The reply to one ZAP request: version, request id, domain, address, identity, mechanism,
    credentials. `user_of(public_key_z85, peer)` names an allowed key (the user id that then
    travels with each of its messages as "User-Id") or returns None; `unlisted(key)` says why a
    key that is not allowed was refused. Every refusal goes to `refusals`."""
    if len(request) < 6:  # libzmq never sends this; answer anyway so the handshake ends
        return [b"1.0", b"", b"500", b"malformed ZAP request", b"", b""]
    version, request_id, _domain, address, _identity, mechanism, *credentials = request
    peer = address.decode(errors="replace") or "unknown address"
    if mechanism != b"CURVE" or not credentials:
        reason = NOT_CURVE
    else:
        public = zmq.utils.z85.encode(credentials[0])
        user = user_of(public, peer)
        if user is not None:
            return [version, request_id, b"200", b"OK", user.encode(), b""]
        reason = unlisted(public)
    refusals.refused(peer, reason)
    return [version, request_id, b"400", reason.encode()[:255], b"", b""]


async def serve(zap: zmq.asyncio.Socket, decide: Callable[[list[bytes]], list[bytes]]) -> None:
    """Answer every request on `zap` (bound at ZAP_ENDPOINT) until cancelled."""
    while True:
        request = await zap.recv_multipart()
        await zap.send_multipart(decide(request))


def bind_handler(ctx: zmq.asyncio.Context) -> zmq.asyncio.Socket:
    """The context's ZAP socket; one per context, so a second handler there fails loudly."""
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(ZAP_ENDPOINT)
    return sock
