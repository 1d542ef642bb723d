"""Dispatch overhead: near-zero-cost trials through the real scheduler vs a raw pyzmq loop."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from bench.cluster import run_search_sync
from bench.common import busy_share, cpu_ticks, format_table, median, say, spread, write_search
from bench.echo import EchoBench
from console.searchfile.spec import SearchSpec

GOAL_TRIALS_PER_S = 2000.0
GOAL_SHARE_OF_RAW = 0.25
PEERS = 2  # two echo peers / two nodes with one slot each


@dataclass(frozen=True)
class DispatchResult:
    """Numbers the summary table needs."""

    raw_1: float
    raw_2: float
    real: dict[int, float]  # prefetch -> trials/s
    curve: float  # trials/s at prefetch 0 over CurveZMQ


def _noop_spec(folder: Path, trials: int, name: str) -> SearchSpec:
    spec = write_search(
        folder,
        name=name,
        estimator="logistic_regression",  # the validator does not know "noop"
        strategy="random",
        max_trials=trials,
        space={"C": {"type": "float", "low": 0.1, "high": 10.0}},
        dataset="sklearn:iris",  # never loaded: the noop estimator reads no data
    )
    return replace(spec, model=replace(spec.model, estimator="noop", fixed={}))


def measure_raw(round_trips: int, repeats: int) -> tuple[list[float], list[float], list[str]]:
    """Round trips/s with 1 and with 2 messages in flight per peer (after a warm-up)."""
    one, two, busy = [], [], []
    with EchoBench(PEERS) as echo:
        echo.round_trips_per_s(max(500, round_trips // 10), 1)
        for _ in range(repeats):
            for in_flight, rates in ((1, one), (2, two)):
                start = cpu_ticks()
                rates.append(echo.round_trips_per_s(round_trips, in_flight))
                busy.append(busy_share(start, cpu_ticks()))
    return one, two, busy[-2:]


@dataclass(frozen=True)
class RealRun:
    rate: float  # trials/s from the first dispatch to the last result
    lag_ms: float  # resume() -> first dispatch
    end_ms: float  # last result -> run() returned (final checkpoint)
    busy: str  # whole-machine CPU while it ran


def measure_real(
    folder: Path, trials: int, prefetch: int, run: int, curve: bool = False
) -> RealRun:
    """One search of `trials` noop trials on 2 nodes x 1 slot (over CURVE if `curve`)."""
    spec = _noop_spec(folder, trials, f"noop-p{prefetch}-{'curve-' if curve else ''}{run}")
    result = run_search_sync(spec, folder, nodes=PEERS, slots=1, prefetch=prefetch, curve=curve)
    events = result.events
    if events.scored != trials or events.first_dispatch is None or events.last_result is None:
        raise RuntimeError(
            f"expected {trials} scored trials, got {events.scored} "
            f"({events.failed} failed; first error: {events.first_error})"
        )
    return RealRun(
        rate=trials / result.dispatch_to_last_result_s,
        lag_ms=1000 * (events.first_dispatch - result.resumed_at),
        end_ms=1000 * (result.returned_at - events.last_result),
        busy=busy_share(result.cpu_at_resume, result.cpu_at_return),
    )


def _row(label: str, rates: list[float], raw_1: float, raw_same: float, busy: str) -> list[str]:
    rate = median(rates)
    return [
        label,
        f"{rate:,.0f}",
        spread(rates, ",.0f"),
        f"{1e6 / rate:.0f}",
        f"{rate / raw_1:.2f}",
        f"{rate / raw_same:.2f}",
        busy,
    ]


def run(quick: bool = False) -> DispatchResult:
    trials = 500 if quick else 5000
    round_trips = 2000 if quick else 20000
    repeats = 1 if quick else 3
    say(
        f"== dispatch overhead: {PEERS} peers x 1 slot; {trials} noop trials, "
        f"{round_trips} raw round trips; median of {repeats} =="
    )
    raw_1, raw_2, raw_busy = measure_raw(round_trips, repeats)
    raw = {1: median(raw_1), 2: median(raw_2)}
    rows = [
        _row("raw ROUTER/DEALER JSON, 1 in flight/peer", raw_1, raw[1], raw[1], raw_busy[0]),
        _row("raw ROUTER/DEALER JSON, 2 in flight/peer", raw_2, raw[1], raw[2], raw_busy[1]),
    ]
    real: dict[int, float] = {}
    curve_rate = 0.0
    notes = []
    with tempfile.TemporaryDirectory(prefix="hpo-bench-dispatch-") as tmp:
        for prefetch, curve in ((0, False), (1, False), (0, True)):
            runs = [measure_real(Path(tmp), trials, prefetch, i, curve) for i in range(repeats)]
            typical = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
            if curve:
                curve_rate = typical.rate
            else:
                real[prefetch] = typical.rate
            link = ", CURVE" if curve else ""
            label = f"zmq-hpo Scheduler + 2 nodes, prefetch {prefetch}{link}"
            rates = [r.rate for r in runs]
            rows.append(_row(label, rates, raw[1], raw[1 + prefetch], typical.busy))
            notes.append(
                f"prefetch {prefetch}{link}: not in the rate: resume() -> first dispatch "
                f"{typical.lag_ms:.0f} ms, last result -> run() returned {typical.end_ms:.0f} ms"
            )
    headers = ["loop", "per s", "range", "us each", "vs raw 1", "vs raw same", "CPU busy"]
    say(format_table(headers, rows))
    say("vs raw 1: against 1 in flight per peer; vs raw same: prefetch 0 against 1 in flight,")
    say("prefetch 1 against 2 in flight. us each = 1e6 / rate (both peers together).")
    for note in notes:
        say(note)
    for prefetch, rate in real.items():
        share = rate / raw[1]
        verdict = "met" if rate >= GOAL_TRIALS_PER_S and share >= GOAL_SHARE_OF_RAW else "MISSED"
        say(
            f"goal >= {GOAL_TRIALS_PER_S:,.0f} trials/s and >= {GOAL_SHARE_OF_RAW:.0%} of raw "
            f"(1 in flight), prefetch {prefetch}: {rate:,.0f}/s = {share:.0%} -> {verdict}"
        )
    say(
        f"CurveZMQ (encrypted, authenticated node link), prefetch 0: {curve_rate:,.0f}/s = "
        f"{curve_rate / real[0]:.2f}x the plaintext rate"
    )
    say("(for scale: Ray Tune ~40 trials/s, Optuna with a journal file ~900)")
    say()
    return DispatchResult(raw[1], raw[2], real, curve_rate)
