"""What goes in and out of SearchCore besides messages: who sent one, and what to do after."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.records import TrialRecord
from console.scheduler import events as ev
from node import protocol as p


@dataclass(frozen=True)
class Peer:
    """Who sent a message: its connection, and what the transport knows about it."""

    routing_id: bytes
    address: str = "unknown address"
    key_name: str = ""  # the CURVE key's allow-list name ("" on a plaintext link)


@dataclass
class Output:
    sends: list[tuple[bytes, p.Message]] = field(default_factory=list)
    journal: list[TrialRecord] = field(default_factory=list)
    events: list[ev.Event] = field(default_factory=list)
    checkpoint: bool = False  # write the checkpoint now (the search changed state)

    def extend(self, other: Output) -> Output:
        self.sends += other.sends
        self.journal += other.journal
        self.events += other.events
        self.checkpoint = self.checkpoint or other.checkpoint
        return self
