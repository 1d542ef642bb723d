"""What the console knows about each node, and which connection speaks for it.

A node is known by the node_id it sends, but that id is bound to the connection (routing id) whose
HELLO was accepted, and under CURVE to the key it first used: a message that claims a node's id
from another connection is not that node's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.scheduler.leases import LeaseTable
from console.scheduler.states import NodeState

# A node at fault this many times in a row (trials lost past their deadline, trials that crashed
# or timed out on it but scored elsewhere, going silent with work) gets no more work until the
# operator releases it: a broken host must not hold the search up.
QUARANTINE_AFTER = 3
# Nodes that have not yet delivered anything (a fold's progress or a result) hold at most
# UNPROVEN_CREDIT trials each, and at most UNPROVEN_CAP of them (or twice the proven nodes, if
# more) hold work at once: 1,000 fake HELLOs cannot take 1,000 trials hostage, while a real fleet
# starting up gets to work at once.
UNPROVEN_CAP = 32
UNPROVEN_CREDIT = 8
MAX_NODES = 10_000  # live nodes; HELLOs beyond this are refused
FORGET_UNPROVEN_ABOVE = 64  # lost nodes that never delivered are forgotten once there are many


@dataclass
class NodeInfo:
    node_id: str
    routing_id: bytes
    host: str
    slots: int
    prefetch: int
    last_seen: float
    # Leases the node reports working on that this console did not give it (they still occupy
    # its slots, so they count against its credit until their results arrive).
    foreign: set[str] = field(default_factory=set)
    # Leases taken back at their deadline: not counted as busy though the node may still list
    # them (a node that ignores CANCEL then keeps getting work, and strikes, until quarantined).
    revoked: set[str] = field(default_factory=set)
    draining: bool = False
    strikes: int = 0  # faults in a row
    gone: NodeState | None = None  # LOST or LEFT once it is no longer with us
    done: int = 0
    failed: int = 0
    versions: dict[str, object] = field(default_factory=dict)
    address: str = ""  # IP address it last connected from
    key_name: str = ""  # the allow-listed CURVE key it connected with ("" on a plaintext link)
    proven: bool = False  # it delivered a result or progress for a lease we issued

    @property
    def capacity(self) -> int:
        return self.slots + self.prefetch

    @property
    def quarantined(self) -> bool:
        return self.strikes >= QUARANTINE_AFTER

    @property
    def can_take_work(self) -> bool:
        """Live and neither draining nor quarantined (it may still be busy)."""
        return self.gone is None and not self.draining and not self.quarantined


class NodeBook:
    """All nodes seen in this search, live or not, and the connection bound to each."""

    def __init__(self, leases: LeaseTable) -> None:
        self.leases = leases
        self.by_id: dict[str, NodeInfo] = {}
        self._by_route: dict[bytes, str] = {}

    def get(self, node_id: str) -> NodeInfo | None:
        return self.by_id.get(node_id)

    def bound_to(self, routing_id: bytes) -> NodeInfo | None:
        """The node whose accepted HELLO came over this connection, if any."""
        node_id = self._by_route.get(routing_id)
        return self.by_id.get(node_id) if node_id is not None else None

    def bind(self, node: NodeInfo, routing_id: bytes) -> None:
        self.by_id[node.node_id] = node
        old = node.routing_id
        if self._by_route.get(old) == node.node_id:
            del self._by_route[old]
        node.routing_id = routing_id
        self._by_route[routing_id] = node.node_id

    def unbind(self, node: NodeInfo) -> None:
        if self._by_route.get(node.routing_id) == node.node_id:
            del self._by_route[node.routing_id]

    def forget(self, node: NodeInfo) -> None:
        self.unbind(node)
        self.by_id.pop(node.node_id, None)

    def live(self) -> list[NodeInfo]:
        return [n for n in self.by_id.values() if n.gone is None]

    def live_count(self) -> int:
        return len(self._by_route)

    def busy(self, node: NodeInfo) -> int:
        return self.leases.count(node.node_id) + len(node.foreign)

    def free(self, node: NodeInfo) -> int:
        """Credit: how many more tasks this node may be sent now."""
        if not node.can_take_work:
            return 0
        limit = node.capacity if node.proven else min(node.capacity, UNPROVEN_CREDIT)
        return max(0, limit - self.busy(node))

    def with_credit(self) -> list[NodeInfo]:
        """Nodes that can take work now, proven first, emptiest first (spreads trials evenly).
        Unproven nodes only while fewer than the cap of them hold work."""
        live = self.live()
        proven = sum(1 for n in live if n.proven)
        unproven_busy = sum(1 for n in live if not n.proven and self.leases.count(n.node_id))
        room = max(UNPROVEN_CAP, 2 * proven) - unproven_busy
        nodes = []
        for node in live:
            if self.free(node) <= 0:
                continue
            if not node.proven and not self.leases.count(node.node_id):
                if room <= 0:
                    continue
                room -= 1
            nodes.append(node)
        nodes.sort(key=lambda n: (not n.proven, self.busy(n) / max(n.capacity, 1)))
        return nodes

    def silent_since(self, cutoff: float) -> list[NodeInfo]:
        return [n for n in self.live() if n.last_seen < cutoff]

    def state_of(self, node: NodeInfo) -> NodeState:
        if node.gone:
            return node.gone
        if node.quarantined:
            return NodeState.QUARANTINED
        busy = self.leases.count(node.node_id) > 0
        if node.draining:
            return NodeState.DRAINING if busy else NodeState.DRAINED
        return NodeState.BUSY if busy else NodeState.IDLE

    def why_none_can_work(self) -> str | None:
        """None if some live node can take work; else the plain reason none can."""
        live = self.live()
        if any(n.can_take_work for n in live):
            return None
        if not live:
            gone = len(self.by_id)
            return f"no node is connected ({gone} gone)" if gone else "no node has joined"
        quarantined = sum(1 for n in live if n.quarantined)
        draining = sum(1 for n in live if n.draining and not n.quarantined)
        parts = [f"{quarantined} quarantined (d releases one)"] if quarantined else []
        parts += [f"{draining} draining (d undoes it)"] if draining else []
        return f"every connected node is held back: {', '.join(parts)}"


def version_mismatch(node_versions: dict[str, object], ours: dict[str, str]) -> str | None:
    """What differs between a node's reported versions and the console's, or None."""
    differ = [
        f"{name} {str(node_versions.get(name))[:20]} (console {mine})"
        for name, mine in ours.items()
        if str(node_versions.get(name)) != mine
    ]
    return "runs " + ", ".join(differ) + ": its scores may not compare" if differ else None
