"""Run one search on the real Scheduler with local node processes joined before the clock starts."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import cpu_ticks
from console.link import keys_cli
from console.link.keyring import ConsoleKeys
from console.local_nodes import LocalNodes
from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.searchfile.spec import SearchSpec

JOIN_TIMEOUT_S = 60.0  # a node imports scikit-learn and starts its slot processes first
STOP_TIMEOUT_S = 10.0


class EventClock:
    """Scheduler event callback that only counts and timestamps (kept cheap: it runs per event)."""

    def __init__(self, also: Callable[[ev.Event], None] | None = None) -> None:
        self.also = also
        self.joined = 0
        self.dispatched = 0
        self.scored = 0
        self.failed = 0
        self.first_dispatch: float | None = None
        self.last_result: float | None = None
        self.first_error: str | None = None
        self.node_last_result: dict[str, float] = {}

    def __call__(self, event: ev.Event) -> None:
        if self.also is not None:
            self.also(event)
        kind = type(event)
        if kind is ev.TrialDispatched:
            self.dispatched += 1
            if self.first_dispatch is None:
                self.first_dispatch = time.perf_counter()
        elif kind is ev.TrialScored:
            self.scored += 1
            self.last_result = time.perf_counter()
            self.node_last_result[event.node_id] = self.last_result  # type: ignore[attr-defined]
        elif kind is ev.TrialFailed and event.final:  # type: ignore[attr-defined]
            self.failed += 1
            self.last_result = time.perf_counter()
            self.first_error = self.first_error or event.error  # type: ignore[attr-defined]
        elif kind is ev.NodeJoined:
            self.joined += 1


@dataclass(frozen=True)
class SearchRun:
    """What one timed search did; times are time.perf_counter() seconds."""

    scheduler: Scheduler
    events: EventClock
    resumed_at: float
    returned_at: float
    cpu_at_resume: tuple[int, int]
    cpu_at_return: tuple[int, int]

    @property
    def wall_s(self) -> float:
        """From resume() until run() returned (includes the final checkpoint)."""
        return self.returned_at - self.resumed_at

    @property
    def dispatch_to_last_result_s(self) -> float:
        first, last = self.events.first_dispatch, self.events.last_result
        if first is None or last is None:
            raise RuntimeError("the search recorded no trial")
        return last - first


async def _wait_until(predicate: object, what: str, task: asyncio.Task[str]) -> None:
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    while not predicate():  # type: ignore[operator]
        if task.done():
            task.result()  # surfaces the scheduler's exception
            raise RuntimeError(f"scheduler ended before {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {JOIN_TIMEOUT_S:g}s waiting for {what}")
        await asyncio.sleep(0.02)


async def run_search(
    spec: SearchSpec,
    folder: Path,
    *,
    nodes: int = 2,
    slots: int = 1,
    prefetch: int = 0,
    curve: bool = False,
    also: Callable[[ev.Event], None] | None = None,
    until: Callable[[], bool] | None = None,
) -> SearchRun:
    """Start the scheduler paused, start and join the nodes, then resume and run to the end.

    `curve`: the node link encrypted and authenticated, as with `hpo-console --keys`.
    `also` sees every event too; `until` ends the search early (a stop) once it returns True."""
    events = EventClock(also)
    keys = _fresh_keys(folder / "keys" / spec.name) if curve else None
    scheduler = Scheduler(
        spec,
        folder / "runs" / f"{spec.name}.toml",
        bind="tcp://127.0.0.1:0",
        on_event=events,
        exit_when_done=True,
        keys=keys,
    )
    scheduler.pause()  # nothing is dispatched until every node has joined
    task = asyncio.create_task(scheduler.run())
    local: LocalNodes | None = None
    bundle = keys.local_bundle() if keys is not None else None  # the nodes' allow-listed keys
    try:
        await _wait_until(scheduler.ready.is_set, "the scheduler to bind", task)
        log_dir = folder / "logs" / spec.name
        local = LocalNodes(
            scheduler.endpoint,
            slots,
            spec.cluster.heartbeat_s,
            log_dir,
            prefetch=prefetch,
            keys_dir=bundle,
        )
        local.start(nodes)
        try:
            await _wait_until(lambda: events.joined >= nodes, f"{nodes} nodes to join", task)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; node logs in {log_dir}") from None
        cpu_at_resume, resumed_at = cpu_ticks(), time.perf_counter()
        scheduler.resume()
        if until is not None:
            while not task.done() and not until():
                await asyncio.sleep(0.01)
            if not task.done():
                scheduler.stop()  # the budget is spent: running units are handed back
        await task
        returned_at, cpu_at_return = time.perf_counter(), cpu_ticks()
    finally:
        if not task.done():
            scheduler.stop()
            await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        if local is not None:
            local.stop_all()
        if bundle is not None:
            shutil.rmtree(bundle, ignore_errors=True)
    return SearchRun(scheduler, events, resumed_at, returned_at, cpu_at_resume, cpu_at_return)


def run_search_sync(spec: SearchSpec, folder: Path, **options: Any) -> SearchRun:
    """run_search in a fresh event loop (same keyword options)."""
    return asyncio.run(run_search(spec, folder, **options))


def _fresh_keys(folder: Path) -> ConsoleKeys:
    keys_cli.init(folder, exist_ok=False)
    return ConsoleKeys.load(folder)
