"""Why the console does not answer: a node-side reading of its socket's handshake events.

A console that refuses this node's key (or speaks CURVE to a plaintext node) just stays silent at
the message level; libzmq's socket monitor is the only place that says what went wrong.

One hang-up proves nothing: a console that is stopping or starting drops handshakes in flight,
and its keys are fine. A console with the wrong keys drops every attempt (libzmq retries within
a fraction of a second), so a hang-up is only read as a key problem when it happens again before
any handshake succeeds.
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
HANG_UPS_FOR_A_DIAGNOSIS = 2  # hang-ups in a row, with no success between, that mean "keys"
HUNG_UP_ONCE = "hung up during the CURVE handshake (stopping or starting?)"


class HandshakeWatch:
    """Remembers the last handshake failure on a socket (cleared by a success)."""

    def __init__(self, sock: zmq.Socket, curve: bool) -> None:
        self.curve = curve
        self.monitor = sock.get_monitor_socket(_WATCHED)
        self.last_problem: str | None = None
        self.hang_ups = 0  # NO_DETAIL failures since the last success

    def problem(self) -> str | None:
        """Reads the events so far; the last failure in words, or None."""
        while True:
            try:
                event = parse_monitor_message(self.monitor.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return self.last_problem
            self.last_problem = self.on_event(event["event"], int(event["value"]))

    def on_event(self, kind: int, value: int) -> str | None:
        """One monitor event: the problem it shows, in words (None: no problem)."""
        if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.hang_ups = 0
            return None
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return (
                f"refused this node's key (status {value}): add it on the console host with "
                "'hpo-console keys add-node KEYS NAME' and use that bundle's --keys"
            )
        if kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and value == _MECHANISM_MISMATCH:
            return self._mechanism_mismatch()
        if kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            self.hang_ups += 1
            if self.hang_ups < HANG_UPS_FOR_A_DIAGNOSIS:
                return HUNG_UP_ONCE
        if not self.curve:
            return self._mechanism_mismatch()
        return (
            "failed the CURVE handshake: either the console runs without keys (start it with "
            "--keys) or this node's bundle holds another console's public key (console.key)"
        )

    def _mechanism_mismatch(self) -> str:
        if not self.curve:
            return "refused the connection: it requires CURVE keys, so start this node with --keys"
        return "runs without keys while this node has them: start the console with --keys"

    def close(self) -> None:
        self.monitor.close(linger=0)


_MECHANISM_MISMATCH = 0x11000002  # ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
