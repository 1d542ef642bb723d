"""Socket helpers shared by console and node: option defaults and safe send/receive."""

from __future__ import annotations

import logging
import time

import zmq

from node.curve import NodeKeys, apply_client
from node.protocol import MAX_MESSAGE_BYTES, Message, ProtocolError, decode, encode

log = logging.getLogger(__name__)


def configure(sock: zmq.Socket) -> None:
    """Options every zmq-hpo socket gets: bounded messages, no lingering on close."""
    # Two limits: frames up to 4 MiB reach the decoder, which drops (and counts) anything over
    # MAX_MESSAGE_BYTES; beyond that libzmq itself cuts the peer off, so a hostile peer can never
    # make us allocate more than this.
    sock.setsockopt(zmq.MAXMSGSIZE, 4 * MAX_MESSAGE_BYTES)
    sock.setsockopt(zmq.LINGER, 0)
    # Generous queues: results and tasks are small, and dropping them silently would break delivery.
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.setsockopt(zmq.RCVHWM, 100_000)


class BindError(RuntimeError):
    """The console cannot listen where it was told to."""


def make_router(
    ctx: zmq.Context, bind: str, options: dict[int, int | bytes] | None = None, retry_s: float = 1.0
) -> zmq.Socket:
    """The console's ROUTER: sends to a vanished peer raise instead of vanishing silently.

    `options` (e.g. CURVE's) are set before the bind, so no connection is accepted without them.
    libzmq releases a closed socket's port in its I/O thread, a moment after close(); a console
    restarted in the same process retries briefly rather than failing on its own ghost.
    """
    sock = ctx.socket(zmq.ROUTER)
    configure(sock)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    for option, value in (options or {}).items():
        sock.setsockopt(option, value)
    deadline = time.monotonic() + retry_s
    while True:
        try:
            sock.bind(bind)
            return sock
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                sock.close(linger=0)
                hint = (
                    " (is another console running? choose another with --bind)"
                    if exc.errno == zmq.EADDRINUSE
                    else ""
                )
                raise BindError(f"cannot listen on {bind}: {exc.strerror}{hint}") from None
            time.sleep(0.05)


def make_dealer(
    ctx: zmq.Context, connect: str, identity: bytes | None = None, keys: NodeKeys | None = None
) -> zmq.Socket:
    """A node's DEALER connected to the console (a CURVE client when it has keys)."""
    sock = ctx.socket(zmq.DEALER)
    configure(sock)
    if keys is not None:
        apply_client(sock, keys)
    if identity is not None:
        sock.setsockopt(zmq.IDENTITY, identity)
    # Reconnect quickly at the TCP level; our own liveness logic handles longer outages.
    sock.setsockopt(zmq.RECONNECT_IVL, 100)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
    sock.connect(connect)
    return sock


def parse_routed(frames: list[bytes]) -> tuple[bytes, Message]:
    """Split a ROUTER message into (routing id, validated message); ProtocolError if malformed."""
    if len(frames) < 2:
        raise ProtocolError("message without a routing id")
    return frames[0], decode(frames[1:])


def routed(routing_id: bytes, msg: Message) -> list[bytes]:
    """Frames for a ROUTER send to one peer."""
    return [routing_id, *encode(msg)]
