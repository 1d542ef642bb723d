"""What the console knows about each node: address, capacity, leases held, liveness."""

from __future__ import annotations

from dataclasses import dataclass, field

IDLE = "idle"
BUSY = "busy"
DRAINING = "draining"
DRAINED = "drained"
LOST = "lost"
LEFT = "left"
QUARANTINED = "quarantined"
# A node whose trials crash or time out this many times in a row gets no more work until the
# operator releases it: a broken host must not burn every trial's retry budget.
QUARANTINE_AFTER = 3


@dataclass
class NodeInfo:
    """One node, keyed by the node_id it sends (its routing id changes when it reconnects)."""

    node_id: str
    routing_id: bytes
    host: str
    slots: int
    prefetch: int
    last_seen: float
    leases: set[str] = field(default_factory=set)
    # Leases the node reports working on that this console did not give it, or took back (a
    # previous console run, or a lease expired while the node was stopped). They still occupy its
    # slots, so they count against its credit until their results arrive.
    foreign: set[str] = field(default_factory=set)
    draining: bool = False
    strikes: int = 0  # trials that crashed or timed out on it in a row
    gone: str | None = None  # LOST or LEFT once it is no longer with us
    done: int = 0
    failed: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    address: str = ""  # IP address it last connected from
    key_name: str = ""  # the allow-listed CURVE key it connected with ("" on a plaintext link)

    @property
    def capacity(self) -> int:
        return self.slots + self.prefetch

    @property
    def free(self) -> int:
        """Credit: how many more tasks this node may be sent now."""
        if self.gone or self.draining or self.quarantined:
            return 0
        return max(0, self.capacity - len(self.leases) - len(self.foreign))

    @property
    def quarantined(self) -> bool:
        return self.strikes >= QUARANTINE_AFTER

    @property
    def state(self) -> str:
        if self.gone:
            return self.gone
        if self.quarantined:
            return QUARANTINED
        if self.draining:
            return DRAINING if self.leases else DRAINED
        return BUSY if self.leases else IDLE


class NodeBook:
    """All nodes ever seen in this search, live or not (lost ones stay visible)."""

    def __init__(self) -> None:
        self.by_id: dict[str, NodeInfo] = {}

    def get(self, node_id: str) -> NodeInfo | None:
        return self.by_id.get(node_id)

    def add(self, node: NodeInfo) -> None:
        self.by_id[node.node_id] = node

    def live(self) -> list[NodeInfo]:
        return [n for n in self.by_id.values() if n.gone is None]

    def with_credit(self) -> list[NodeInfo]:
        """Live nodes that can take work, emptiest first (spreads trials evenly)."""
        nodes = [n for n in self.by_id.values() if n.free > 0]
        nodes.sort(key=lambda n: len(n.leases) / max(n.capacity, 1))
        return nodes

    def silent_since(self, cutoff: float) -> list[NodeInfo]:
        return [n for n in self.live() if n.last_seen < cutoff]


def version_mismatch(node_versions: dict[str, object], ours: dict[str, str]) -> str | None:
    """What differs between a node's reported versions and the console's, or None."""
    differ = [
        f"{name} {str(node_versions.get(name))[:20]} (console {mine})"
        for name, mine in ours.items()
        if str(node_versions.get(name)) != mine
    ]
    return "runs " + ", ".join(differ) + ": its scores may not compare" if differ else None
