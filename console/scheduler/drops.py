"""Reports of dropped messages at a bounded rate: a flood of bad frames costs a few log lines.

Each peer address gets its first few drops reported one by one; after that its drops are summed
and reported at most once a minute (with the latest reason), so 10,000 bad frames make a handful
of lines rather than 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIRST_REPORTS = 3  # reported one by one, per peer address
SUMMARY_EVERY_S = 60.0
MAX_TRACKED_PEERS = 1000  # beyond this, new addresses share one entry


@dataclass
class _PeerDrops:
    reported: int = 0
    unreported: int = 0
    last_reason: str = ""
    last_report: float = float("-inf")


class DropReports:
    def __init__(self) -> None:
        self.total = 0
        self._peers: dict[str, _PeerDrops] = {}

    def dropped(self, peer: str, reason: str, now: float) -> dict[str, Any] | None:
        """Count one drop; the fields of a MessageDropped event if it should be reported now."""
        self.total += 1
        if peer not in self._peers and len(self._peers) >= MAX_TRACKED_PEERS:
            peer = "other peers"
        entry = self._peers.setdefault(peer, _PeerDrops())
        entry.last_reason = reason[:300]
        if entry.reported < FIRST_REPORTS:
            entry.reported += 1
            entry.last_report = now
            return self._report(peer, entry.last_reason, 1)
        entry.unreported += 1
        return None

    def due(self, now: float) -> list[dict[str, Any]]:
        """Summaries of drops not reported yet, for peers last reported a minute ago or more."""
        reports = []
        for peer, entry in self._peers.items():
            if entry.unreported and now - entry.last_report >= SUMMARY_EVERY_S:
                reports.append(self._report(peer, entry.last_reason, entry.unreported))
                entry.unreported, entry.last_report = 0, now
        return reports

    def _report(self, peer: str, reason: str, repeats: int) -> dict[str, Any]:
        return {"peer": peer, "reason": reason, "total_dropped": self.total, "repeats": repeats}
