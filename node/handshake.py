"""Why the console does not answer: a node-side reading of its socket's handshake events.

A console that refuses this node's key (or speaks CURVE to a plaintext node) just stays silent at
the message level; libzmq's socket monitor is the only place that says what went wrong.
"""

from __future__ import annotations

import zmq
from zmq.utils.monitor import parse_monitor_message

_WATCHED = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
)


class HandshakeWatch:
    """Remembers the last handshake failure on a socket (cleared by a success)."""

    def __init__(self, sock: zmq.Socket, curve: bool) -> None:
        self.curve = curve
        self.monitor = sock.get_monitor_socket(_WATCHED)
        self.last_problem: str | None = None

    def problem(self) -> str | None:
        """Reads the events so far; the last failure in words, or None."""
        while True:
            try:
                event = parse_monitor_message(self.monitor.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return self.last_problem
            self.last_problem = self._describe(event["event"], int(event["value"]))

    def _describe(self, kind: int, value: int) -> str | None:
        if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            return None
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return (
                f"refused this node's key (status {value}): add it on the console host with "
                "'hpo-console keys add-node KEYS NAME' and use that bundle's --keys"
            )
        if not self.curve:
            return "refused the connection: it requires CURVE keys, so start this node with --keys"
        return (
            "failed the CURVE handshake: either the console runs without keys (start it with "
            "--keys) or this node's bundle holds another console's public key (console.key)"
        )

    def close(self) -> None:
        self.monitor.close(linger=0)
