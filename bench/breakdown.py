"""Where a zmq-hpo workload run spent its wall time, from its events and the trials' fit times."""

from __future__ import annotations

from collections import defaultdict

from bench.cluster import SearchRun


def fit_seconds_by_node(run: SearchRun) -> dict[str, tuple[int, float]]:
    """node id -> (trials, summed fit time the node's child measured)."""
    totals: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for trial in run.scheduler.ledger.trials.values():
        count, seconds = totals[trial.node or "?"]
        totals[trial.node or "?"] = (count + 1, seconds + (trial.duration_s or 0.0))
    return dict(totals)


def describe_run(run: SearchRun, serial_sum_s: float) -> list[str]:
    """Lines splitting a run into dispatch lag, per-node fit and other time, and the end."""
    events = run.events
    if events.first_dispatch is None or events.last_result is None:
        return ["(no trial recorded)"]
    by_node = fit_seconds_by_node(run)
    fit_total = sum(seconds for _, seconds in by_node.values())
    lag = events.first_dispatch - run.resumed_at
    lines = [
        f"  resume() -> first dispatch {1000 * lag:.0f} ms; "
        f"last result -> run() returned {1000 * (run.returned_at - events.last_result):.0f} ms",
        f"  fit time measured in the node children: {fit_total:.2f} s = "
        f"{fit_total / serial_sum_s:.3f}x the serial sum (2 fits at once share caches/memory)",
    ]
    for node_id in sorted(events.node_last_result):
        count, fit = by_node.get(node_id, (0, 0.0))
        ends = events.node_last_result[node_id] - run.resumed_at
        other = ends - lag - fit
        lines.append(
            f"  {node_id}: {count} trials, last result at {ends:.2f} s = lag + fit {fit:.2f} s"
            f" + {other:.3f} s other ({1000 * other / max(count, 1):.1f} ms/trial)"
        )
    return lines
