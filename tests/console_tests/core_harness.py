"""Drive the real SearchCore with simulated nodes: no sockets, no processes, no asyncio.

A `SimNode` speaks the wire protocol's typed messages to the core and reads back what the core
sends to its connection; a `Harness` owns the core, a virtual clock and everything emitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from console.records import TrialRecord
from console.scheduler import events as ev
from console.scheduler.checkpoint import restore_ledger
from console.scheduler.search_core import Output, Peer, SearchCore
from console.searchfile.toml_io import SavedState, load_search
from node import protocol as p
from tests.conftest import write_search


@dataclass
class Harness:
    core: SearchCore
    now: float = 1000.0
    events: list[ev.Event] = field(default_factory=list)
    journal: list[TrialRecord] = field(default_factory=list)
    inbox: dict[bytes, list[p.Message]] = field(default_factory=dict)

    @classmethod
    def for_search(cls, folder: Path, state: SavedState | None = None, **search: object) -> Harness:
        spec = load_search(write_search(folder, **search)).spec  # type: ignore[arg-type]
        ledger, strategy, _ = restore_ledger(spec, state)
        return cls(SearchCore(spec, ledger, strategy))

    def take(self, out: Output) -> Output:
        self.events += out.events
        self.journal += out.journal
        for routing_id, msg in out.sends:
            self.inbox.setdefault(routing_id, []).append(msg)
        return out

    def tick(self, seconds: float = 0.0) -> Output:
        self.now += seconds
        return self.take(self.core.tick(self.now))

    def node(self, node_id: str, slots: int = 1, key: str = "") -> SimNode:
        return SimNode(self, node_id, slots, Peer(node_id.encode() + b"-conn", "10.0.0.1", key))

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def trial(self, trial_id: int):
        return self.core.ledger.trials[trial_id]


@dataclass
class SimNode:
    harness: Harness
    node_id: str
    slots: int
    peer: Peer
    running: dict[str, p.Task] = field(default_factory=dict)

    def send(self, msg: p.Message) -> Output:
        h = self.harness
        return h.take(h.core.on_message(self.peer, msg, h.now))

    def hello(self, running: Iterable[p.HeldLease] = ()) -> Output:
        return self.send(
            p.Hello(self.node_id, p.PROTOCOL_VERSION, self.slots, 0, "host", tuple(running), {})
        )

    def received(self, kind: type[p.Message] = p.Message) -> list:
        """What the core sent this node's connection since the last call (and remembers tasks)."""
        msgs = self.harness.inbox.pop(self.peer.routing_id, [])
        for msg in msgs:
            if isinstance(msg, p.Task):
                self.running[msg.lease_id] = msg
        return [m for m in msgs if isinstance(m, kind)]

    def tasks(self) -> list[p.Task]:
        self.received()
        return list(self.running.values())

    def held(self) -> tuple[p.HeldLease, ...]:
        return tuple(
            p.HeldLease(t.lease_id, t.trial_id, t.attempt, t.search, t.params)
            for t in self.running.values()
        )

    def heartbeat(self) -> Output:
        return self.send(p.Heartbeat(self.node_id, self.held()))

    def finish(
        self,
        task: p.Task,
        status: str = p.STATUS_OK,
        mean: float = 0.9,
        fit_time_s: float = 0.1,
        scores: dict[str, list[float]] | None = None,
    ) -> Output:
        """A whole-trial RESULT: one fold scoring `mean` when ok, no scores otherwise
        (`scores`: each metric's fold scores, with several metrics)."""
        ok = status == p.STATUS_OK
        values = [mean] if ok else []
        return self._result(task, status, values, (), fit_time_s=fit_time_s, scores=scores)

    def progress(self, task: p.Task, fold: int, score: float, folds: int = 0) -> Output:
        return self.send(
            p.Progress(self.node_id, task.trial_id, task.lease_id, fold, folds or fold, score)
        )

    def finish_folds(self, task: p.Task, scores: dict[int, float]) -> Output:
        """A real node's RESULT for a unit: a score for each of its folds, with fold numbers."""
        folds = sorted(scores)
        return self._result(task, p.STATUS_OK, [scores[f] for f in folds], tuple(folds))

    def _result(
        self,
        task: p.Task,
        status: str,
        values: list[float],
        folds: tuple[int, ...],
        fit_time_s: float = 0.1,
        scores: dict[str, list[float]] | None = None,
    ) -> Output:
        self.running.pop(task.lease_id, None)
        ok = status == p.STATUS_OK
        return self.send(
            p.Result(
                node_id=self.node_id,
                trial_id=task.trial_id,
                lease_id=task.lease_id,
                attempt=task.attempt,
                search=task.search,
                params=task.params,
                status=status,
                mean=sum(values) / len(values) if ok else None,
                std=0.0 if ok else None,
                fold_scores=tuple(values),
                fit_time_s=fit_time_s,
                error=None if ok else f"it went {status}",
                folds=folds,
                scores=scores or {},
            )
        )
