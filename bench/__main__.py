"""`python -m bench [dispatch|workloads|tui|scaling|search|pruning|grid|all] [--quick]`: the
benchmarks."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

from bench import (
    dispatch,
    grid_to_best,
    pruning_e2e,
    scaling,
    search_efficiency,
    tui_burst,
    workloads,
)
from bench.common import format_table, machine_header, say


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _summary(
    dispatch_result: dispatch.DispatchResult | None,
    workload_results: list[workloads.WorkloadResult],
    burst: tui_burst.BurstResult | None = None,
) -> str:
    rows: list[list[str]] = []
    if dispatch_result is not None:
        raw = dispatch_result.raw_1
        rows.append(["raw ROUTER/DEALER loop", f"{raw:,.0f} round trips/s", "baseline", ""])
        for prefetch, rate in sorted(dispatch_result.real.items()):
            met = rate >= dispatch.GOAL_TRIALS_PER_S and rate / raw >= dispatch.GOAL_SHARE_OF_RAW
            rows.append(
                [
                    f"dispatch, prefetch {prefetch}",
                    f"{rate:,.0f} trials/s",
                    f"{rate / raw:.0%} of raw",
                    f">= 2,000/s and >= 25%: {'met' if met else 'MISSED'}",
                ]
            )
        curve_share = dispatch_result.curve / dispatch_result.real[0]
        rows.append(
            [
                "dispatch, prefetch 0, CURVE",
                f"{dispatch_result.curve:,.0f} trials/s",
                f"{curve_share:.2f}x plaintext",
                "",
            ]
        )
    for result in workload_results:
        ratio = result.zmq_s / result.ideal_s
        rows.append(
            [
                result.name,
                f"zmq-hpo {ratio:.2f}x ideal",
                f"GridSearchCV {result.gridsearch_s / result.ideal_s:.2f}x",
                f"<= {result.goal:.2f}x: {'met' if ratio <= result.goal else 'MISSED'}"
                + ("" if result.agree else "; best MISMATCH"),
            ]
        )
    if burst is not None:
        rows.append(
            [
                f"console absorbs {burst.trials:,} results",
                f"{burst.console_s:.2f} s ({burst.ratio:.1f}x)",
                f"scheduler alone {burst.scheduler_s:.2f} s",
                f"refresh at {burst.trials:,} {burst.refresh_ms:.0f} ms; "
                f"keys <= {tui_burst.KEY_GOAL_MS:.0f} ms: "
                f"{'met' if burst.keys_met else 'MISSED'}",
            ]
        )
    return format_table(["benchmark", "result", "against", "goal"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=("dispatch", "workloads", "tui", "scaling", "search", "pruning", "grid", "all"),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say(
        f"zmq-hpo benchmarks, {dt.datetime.now().isoformat(timespec='seconds')}"
        f"{' (--quick: sizes too small to judge the goals)' if args.quick else ''}"
    )
    say(machine_header())
    say(f"at start: {_load()}")
    say()
    dispatch_result = dispatch.run(args.quick) if args.which in ("dispatch", "all") else None
    workload_results = workloads.run(args.quick) if args.which in ("workloads", "all") else []
    burst = tui_burst.run(args.quick) if args.which in ("tui", "all") else None
    if args.which in ("scaling", "all"):
        scaling.run(args.quick)  # its tables are its summary
    if args.which in ("search", "all"):
        search_efficiency.run(args.quick)  # prints its own summary table
    if args.which in ("pruning", "all"):
        pruning_e2e.main(args.quick)  # prints its own summary table
    if args.which in ("grid", "all"):
        grid_to_best.main(args.quick)  # prints its own summary table
    say("== summary ==")
    say(_summary(dispatch_result, workload_results, burst))
    say(f"total {time.perf_counter() - started:.0f} s; at end: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
