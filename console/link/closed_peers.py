"""Who was just dropped: remote addresses of connections the kernel still lists as closing.

libzmq closes a connection that fails its greeting (plaintext against CURVE, a wrong server key)
before its ACCEPTED event can even be read, so the socket's peer address is gone. The console
closed first, so Linux keeps the connection in TIME_WAIT for a minute, and /proc/net/tcp still
names the peer. Elsewhere (no /proc) this finds nothing and the peer is reported as unknown.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
# TIME_WAIT (06) when the console closed first and the peer closed too, which is the usual
# case; FIN_WAIT1/FIN_WAIT2 (04/05) while a peer that was dropped has not closed its side yet.
# If the peer's FIN crossed ours, the console's side is briefly CLOSE_WAIT (08) or LAST_ACK (09)
# instead, or CLOSING (0B); any of them still names the peer.
_CLOSING_STATES = {"04", "05", "06", "08", "09", "0B"}


class ClosedPeers:
    """`fresh()`: peers of `port` whose connections started closing since the previous call."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._known = self._scan()

    def fresh(self, attempts: int = 10, wait_s: float = 0.005) -> list[str]:
        """Retries briefly: the DISCONNECTED event may arrive just before the close itself."""
        for _ in range(attempts):
            current = self._scan()
            new, self._known = current - self._known, current
            if new:
                return sorted(new)
            time.sleep(wait_s)  # runs on the gatekeeper's monitor thread, never the event loop
        return []

    def _scan(self) -> set[str]:
        found: set[str] = set()
        for table in _TABLES:
            try:
                lines = table.read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if state in _CLOSING_STATES and int(local.rsplit(":", 1)[1], 16) == self.port:
                    found.add(_address(remote))
        return found


def _address(hex_address: str) -> str:
    """'0100007F:C7AC' -> '127.0.0.1:51116' (the kernel prints each 32-bit word in host order)."""
    host_hex, port_hex = hex_address.split(":")
    words = [int(host_hex[i : i + 8], 16) for i in range(0, len(host_hex), 8)]
    packed = struct.pack(f"={len(words)}I", *words)
    if len(packed) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, packed)}:{int(port_hex, 16)}"
    host = socket.inet_ntop(socket.AF_INET6, packed).removeprefix("::ffff:")
    return f"{host}:{int(port_hex, 16)}"
