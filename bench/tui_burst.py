"""A burst of N trial results absorbed by the console (events applied, screen refreshed) vs the
scheduler alone.

Both arms run the real Scheduler (bound, its loop running) with N trials leased to a few nodes.
The nodes are DEALER sockets that join and receive their TASKs over the socket, not processes:
the burst is N RESULT messages, encoded as nodes encode them, fed to the scheduler's own handler
(`Scheduler.absorb`, what its socket loop calls) a wake of MAX_MESSAGES_PER_WAKE at a time, each
ending with the loop's journal flush. The console arm is
ConsoleApp headless at 120x40, its scheduler's events going to its PendingUpdates; its clock stops
when the last batch is applied (`refresh_view()`) and the screen refreshed. The scheduler's clock
is frozen in both arms, so neither does time-driven work midway (periodic checkpoints, liveness,
lease deadlines); the ACKs go to the nodes' sockets, unread.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from bench.common import format_table, median, say, write_search
from console.running_search import LaunchOptions
from console.scheduler.core import MAX_MESSAGES_PER_WAKE, Scheduler
from console.searchfile.session import OpenedSearch
from console.searchfile.spec import SearchSpec
from console.tui import app as console_app
from console.tui.app import ConsoleApp
from console.tui.widgets.trials_table import TrialsTable
from node import protocol as p
from node.transport import make_dealer, routed

SIZE = (120, 40)
SLOTS_PER_NODE = 1000  # within HELLO's limit; enough nodes to hold every trial of the burst
KEY_GOAL_MS = 100.0  # a key must be handled and shown within this
REPEATS = 5


@dataclass
class BurstResult:
    """Numbers the summary table needs (seconds unless named otherwise)."""

    trials: int
    scheduler_s: float
    console_s: float
    cpu_s: tuple[float, float]  # process CPU time in the burst: scheduler, console
    refresh_ms: float  # one refresh_view() + screen refresh, nothing new, N trials finished
    refreshes_ms: list[float]  # each refresh_view() during the burst (the timer's, then ours)
    stall_ms: tuple[float, float]  # worst event-loop stall in the burst: scheduler, console
    keys_ms: dict[str, float]  # key -> handled and shown, with N trials finished

    @property
    def ratio(self) -> float:
        return self.console_s / self.scheduler_s

    @property
    def keys_met(self) -> bool:
        return all(ms <= KEY_GOAL_MS for ms in self.keys_ms.values())


class _TimedConsole(ConsoleApp):
    """ConsoleApp that times each refresh_view() its timer runs."""

    CSS_PATH = str(Path(console_app.__file__).with_name("app.tcss"))  # relative to the module
    refreshes_ms: list[float] | None = None  # None: not timing

    def refresh_view(self) -> None:
        started = time.perf_counter()
        super().refresh_view()
        if self.refreshes_ms is not None:
            self.refreshes_ms.append(1000 * (time.perf_counter() - started))


def _grid_spec(folder: Path, trials: int) -> SearchSpec:
    """An SVC grid of `trials` points and a few more (the estimator never runs).

    The spare points are never leased, so the search does not finish in the burst: finishing
    writes a checkpoint of every trial (~0.4 s at 10,000), the same cost with or without a UI,
    which lands inside one arm's clock or the other's depending on when its loop next wakes.
    """
    across = next(n for n in range(int(trials**0.5), 0, -1) if trials % n == 0)
    return write_search(
        folder,
        name=f"burst-{trials}",
        estimator="svc",
        space={
            "C": {"type": "choice", "values": [round(0.01 * 1.01**i, 6) for i in range(across)]},
            "gamma": {
                "type": "choice",
                "values": [round(1e-4 * 1.01**i, 8) for i in range(trials // across + 1)],
            },
        },
        dataset="sklearn:digits",
    )


class _BenchNodes:
    """Real DEALER sockets that join the scheduler and collect the TASKs it sends them. Their
    RESULTs are not sent over the socket but fed to `Scheduler.absorb` in wakes, so both arms
    absorb exactly the same batches."""

    def __init__(self, scheduler: Scheduler, count: int) -> None:
        self.scheduler = scheduler
        self.count = count
        how_many = -(-count // SLOTS_PER_NODE)
        self.node_ids = [f"bench-{n}" for n in range(how_many)]
        ctx = zmq.Context.instance()
        self.socks = [
            make_dealer(ctx, scheduler.endpoint, identity=node_id.encode())
            for node_id in self.node_ids
        ]

    async def join(self) -> None:
        """HELLO over the socket, wait for each WELCOME, then trust them with every slot (the
        burst measures absorbing results, not how nodes earn the console's trust)."""
        slots = self.count // len(self.node_ids)
        for node_id, sock in zip(self.node_ids, self.socks, strict=True):
            hello = p.Hello(node_id, p.PROTOCOL_VERSION, slots, 0, "bench", (), {})
            sock.send_multipart(p.encode(hello))
        for node_id in self.node_ids:
            await _until(lambda n=node_id: self.scheduler.nodes.get(n) is not None, "a HELLO")
            self.scheduler.nodes.get(node_id).proven = True  # type: ignore[union-attr]

    async def results(self) -> list[list[zmq.Frame]]:
        """Wait for all `count` TASKs; the RESULT each node will send, in dispatch order."""
        tasks: list[tuple[bytes, p.Task]] = []
        deadline = time.monotonic() + 60
        while len(tasks) < self.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(tasks)} of {self.count} trials were dispatched")
            for node_id, sock in zip(self.node_ids, self.socks, strict=True):
                while sock.poll(0):
                    msg = p.decode(sock.recv_multipart())
                    if isinstance(msg, p.Task):
                        tasks.append((node_id.encode(), msg))
            await asyncio.sleep(0.005)
        rng = random.Random(7)
        results = []
        for routing_id, task in sorted(tasks, key=lambda item: item[1].trial_id):
            folds = tuple(0.80 + 0.19 * rng.random() for _ in range(task.cv))
            result = p.Result(
                routing_id.decode(), task.trial_id, task.lease_id, task.attempt, task.search,
                task.params, p.STATUS_OK, sum(folds) / len(folds), 0.01, folds, 0.5, None,
            )  # fmt: skip
            results.append([zmq.Frame(frame) for frame in routed(routing_id, result)])
        return results

    def close(self) -> None:
        for sock in self.socks:
            sock.close(linger=0)


async def _burst(scheduler: Scheduler, results: list[list[zmq.Frame]]) -> None:
    """Feed the results as the scheduler's loop would: a wake at a time, yielding in between."""
    for start in range(0, len(results), MAX_MESSAGES_PER_WAKE):
        scheduler.absorb(results[start : start + MAX_MESSAGES_PER_WAKE])
        await asyncio.sleep(0)
    if scheduler.ledger.done != len(results):
        raise RuntimeError(f"{scheduler.ledger.done} of {len(results)} results recorded")


async def _timed(work: Awaitable[None]) -> tuple[float, float, float]:
    """(seconds, CPU seconds, worst event-loop stall) of `work`; the stall is the worst wait a
    key pressed meanwhile would see: a probe wakes every millisecond and notes how late it is."""
    worst = [0.0]

    async def probe() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            worst[0] = max(worst[0], time.perf_counter() - before - 0.001)

    probing = asyncio.create_task(probe())
    await asyncio.sleep(0.005)  # running before the clock starts
    started, cpu = time.perf_counter(), time.process_time()
    await work
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    probing.cancel()
    return took, cpu, worst[0]


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.01)


async def _scheduler_alone(
    spec: SearchSpec, trials: int, checkpoint: Path
) -> tuple[float, float, float]:
    now = time.monotonic()
    scheduler = Scheduler(spec, checkpoint, exit_when_done=False, clock=lambda: now)
    task = asyncio.create_task(scheduler.run())
    await _until(lambda: scheduler.checkpointer.path.exists(), "the first checkpoint")
    nodes = _BenchNodes(scheduler, trials)
    await nodes.join()
    results = await nodes.results()
    measured = await _timed(_burst(scheduler, results))
    scheduler.stop()
    await task
    nodes.close()
    return measured


async def _console(
    spec: SearchSpec, trials: int, folder: Path
) -> tuple[float, float, float, list[float], dict[str, float]]:
    now = time.monotonic()
    opened = OpenedSearch(spec, None, folder / "console.toml")
    app = _TimedConsole.running_here(opened, LaunchOptions(local_nodes=0), clock=lambda: now)
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: opened.checkpoint.exists(), "the first checkpoint")
        scheduler = app.link.host.running.scheduler  # type: ignore[attr-defined]
        # The app does not hear of the N leases: a real burst comes with its dispatches spread
        # out, each showing at most once before its result lands on the same row.
        sink, scheduler.on_event = scheduler.on_event, lambda _event: None
        nodes = _BenchNodes(scheduler, trials)
        await nodes.join()
        results = await nodes.results()
        scheduler.on_event = sink
        app.refresh_view()
        await pilot.pause(0)
        app.refreshes_ms = refreshes = []

        async def absorb() -> None:
            await _burst(scheduler, results)
            app.link.host.flush()  # type: ignore[attr-defined]  # what its ticker has not sent
            app.refresh_view()  # whatever the app's timer has not applied yet
            await pilot.pause(0)  # ...and the screen refreshed

        took, cpu, stall = await _timed(absorb())
        app.refreshes_ms = None
        newest = app.query_one(TrialsTable).get_row(str(len(results) - 1))
        if newest[1].plain != "ok":
            raise RuntimeError(f"the newest trial shows {newest[1].plain!r}, not ok")
        keys = await _key_times(app, pilot)
        nodes.close()
    return took, cpu, stall, refreshes, keys


async def _key_times(app: ConsoleApp, pilot: Any) -> dict[str, float]:
    """Milliseconds from a key's action to the screen showing it: median of up to REPEATS (a key
    that takes over a second is timed once: that is enough to know it is too slow)."""
    table = app.query_one(TrialsTable)
    steps: dict[str, Callable[[], Awaitable[None] | None]] = {
        "s (sort: best first <-> newest first)": lambda: app.search_screen.run_action("sort"),
        "down (cursor)": table.action_cursor_down,
        "idle": app.refresh_view,  # no key: one refresh with nothing new
    }
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(REPEATS):
        for label, step in steps.items():
            if times[label] and times[label][-1] > 1000:
                continue
            started = time.perf_counter()
            result = step()
            if result is not None:
                await result
            await pilot.pause(0)
            times[label].append(1000 * (time.perf_counter() - started))
    return {label: median(values) for label, values in times.items()}


async def _measure(trials: int, folder: Path) -> BurstResult:
    spec = _grid_spec(folder, trials)
    await _scheduler_alone(spec, trials, folder / "warm-up.toml")  # imports, allocator, JSON paths
    alone_s, alone_cpu, alone_stall = await _scheduler_alone(spec, trials, folder / "alone.toml")
    say(f"scheduler alone: {alone_s:.3f} s; now the console (slow parts are timed once)")
    console_s, console_cpu, console_stall, refreshes, keys = await _console(spec, trials, folder)
    idle = keys.pop("idle")
    return BurstResult(
        trials=trials,
        scheduler_s=alone_s,
        console_s=console_s,
        cpu_s=(alone_cpu, console_cpu),
        refresh_ms=idle,
        refreshes_ms=refreshes,
        stall_ms=(1000 * alone_stall, 1000 * console_stall),
        keys_ms=keys,
    )


def run(quick: bool = False) -> BurstResult:
    trials = 1000 if quick else 10_000
    width, height = SIZE
    say(f"== console under a burst: {trials:,} results, ConsoleApp headless at {width}x{height} ==")
    with tempfile.TemporaryDirectory(prefix="hpo-bench-tui-") as tmp:
        result = asyncio.run(_measure(trials, Path(tmp)))
    arms = [("scheduler alone", result.scheduler_s), ("console", result.console_s)]
    rows = [
        [name, f"{took:.3f}", f"{cpu:.3f}", f"{stall:.0f}", f"{took / result.scheduler_s:.2f}"]
        for (name, took), cpu, stall in zip(arms, result.cpu_s, result.stall_ms, strict=True)
    ]
    say(format_table(["absorbing the burst", "seconds", "CPU s", "worst stall ms", "ratio"], rows))
    say("console: events applied by refresh_view() and the screen refreshed after the last one")
    ran = result.refreshes_ms
    say(f"refresh_view() ran {len(ran)} times in the burst; slowest {max(ran, default=0):.0f} ms")
    say(f"one refresh with {trials:,} trials finished, nothing new: {result.refresh_ms:.1f} ms")
    for key, ms in result.keys_ms.items():
        verdict = "ok" if ms <= KEY_GOAL_MS else "SLOW"
        say(f"key {key}: {ms:.0f} ms to the screen (goal <= {KEY_GOAL_MS:.0f} ms: {verdict})")
    say()
    return result
