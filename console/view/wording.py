"""The words every front end uses for a search: durations and the one-line status.

One module, so the TUI, the headless runner and an attached console say the same thing (the
event log's lines are made on the console's side: console/view/event_lines.py).
"""

from __future__ import annotations

from console.view.models import Snapshot


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def status_line(snap: Snapshot) -> str:
    best = f"{snap.best_score:.4f}" if snap.best_score is not None else "--"
    live = sum(1 for n in snap.nodes if n.state not in ("lost", "left"))
    return (
        f"[{snap.state}] {snap.finished}/{snap.planned} done"
        f" ({snap.failed} failed{f', {snap.pruned} pruned' if snap.pruned else ''}),"
        f" {snap.running} running, best {best},"
        f" {snap.rate_per_s:.2f} trials/s, ETA {format_duration(snap.eta_s)},"
        f" {live} node(s)"
    )
