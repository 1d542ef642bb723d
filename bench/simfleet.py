"""A simulated fleet on a virtual clock: W one-slot nodes run the real SearchCore's TASKs against
a tabular benchmark, each trial lasting its recorded train time (no sockets, no processes)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.scheduler.ledger import Ledger
from console.scheduler.search_core import Peer, SearchCore
from console.search.base import make_strategy
from console.search.space import Param
from console.searchfile.spec import ClusterSpec, DatasetSpec, ModelSpec, SearchSpec
from node import protocol as p

# (params) -> (score, seconds the trial takes)
Objective = Callable[[dict[str, Any]], tuple[float, float]]
# Far beyond any simulated run: nodes never go silent and leases never expire on the virtual clock.
FOREVER_S = 1e9


@dataclass
class FleetRun:
    """What one simulated search did, in the order results arrived."""

    params: list[dict[str, Any]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    duplicates_suggested: int = 0  # re-asked by the strategy (never dispatched)
    duplicates_dispatched: int = 0  # parameter sets run twice
    wall_s: float = 0.0  # virtual time to the end


def bench_spec(strategy: str, space: dict[str, Param], seed: int, trials: int, workers: int):
    """A SearchSpec built directly: the benchmark's parameter names are no estimator's, and the
    simulated nodes never look at the estimator."""
    return SearchSpec(
        name="sim", strategy=strategy, max_trials=trials, seed=seed, metric="accuracy", cv=5,
        trial_timeout_s=FOREVER_S, max_attempts=3, dataset=DatasetSpec("sklearn:iris"),
        model=ModelSpec("dummy"), space=space,
        cluster=ClusterSpec(local_nodes=0, heartbeat_s=FOREVER_S), parallelism=workers,
    )  # fmt: skip


def run_fleet(spec: SearchSpec, workers: int, objective: Objective) -> FleetRun:
    """Drive the SearchCore to the end of the search with `workers` simulated nodes."""
    strategy = make_strategy(
        spec.strategy, spec.space, spec.seed, spec.max_trials, slots=spec.slots_hint()
    )
    core = SearchCore(spec, Ledger(spec.max_attempts), strategy)
    now = 1000.0
    peers = {}
    for n in range(workers):
        peer = Peer(f"w{n}".encode(), "10.0.0.1", key_name=f"key-{n}")
        core.on_message(peer, p.Hello(f"w{n}", p.PROTOCOL_VERSION, 1, 0, "sim", (), {}), now)
        peers[peer.routing_id] = peer
    run, seen = FleetRun(), set()
    running: list[tuple[float, int, bytes, p.Task, float]] = []
    out = core.tick(now)
    while core.state != "finished":
        for routing_id, msg in out.sends:
            if isinstance(msg, p.Task):
                key = tuple(sorted(msg.params.items()))
                run.duplicates_dispatched += key in seen
                seen.add(key)
                score, seconds = objective(msg.params)
                heapq.heappush(running, (now + seconds, msg.trial_id, routing_id, msg, score))
        if not running:
            raise RuntimeError(f"simulated search stuck in state {core.state}")
        now, _, routing_id, task, score = heapq.heappop(running)
        run.params.append(dict(task.params))
        run.scores.append(score)
        result = p.Result(
            routing_id.decode(), task.trial_id, task.lease_id, task.attempt, task.search,
            task.params, p.STATUS_OK, score, 0.0, (score,), 0.0, None,
        )  # fmt: skip
        core.on_message(peers[routing_id], result, now)
        out = core.tick(now)
    run.duplicates_suggested = getattr(strategy, "duplicates", 0)
    run.wall_s = now - 1000.0
    return run
