"""The top two lines: what is running, how far along, how fast, and where it is saved."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.headless import format_duration
from console.scheduler.snapshot import Snapshot

# The node link: encrypted and authenticated, or open to anyone who reaches the port.
LINK_STYLES = {"CURVE": "green", "INSECURE": "bold red"}
STATE_STYLES = {
    "running": "bold green",
    "paused": "bold yellow",
    "stopping": "bold yellow",
    "stopped": "bold red",
    "finished": "bold cyan",
    "error": "bold white on red",
    "starting": "bold",
}
BAR_WIDTH = 24


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


class StatusBar(Static):
    """Search name, strategy, state, progress, elapsed, ETA, rate, nodes, checkpoint."""

    DEFAULT_CSS = """
    StatusBar { height: 2; padding: 0 1; background: $panel; }
    """

    def show(self, snap: Snapshot, state: str | None = None) -> None:
        state = state or snap.state
        finished = snap.finished
        live = sum(1 for n in snap.nodes if n.state not in ("lost", "left"))
        line1 = Text.assemble(
            (snap.name, "bold"),
            f" · {snap.strategy} · ",
            (state.upper(), STATE_STYLES.get(state, "bold")),
            "  ",
            (progress_bar(finished, snap.planned), "green"),
            f" {finished}/{snap.planned}",
            (f" ({snap.failed} failed)" if snap.failed else "", "red"),
            (f" ({snap.pruned} pruned)" if snap.pruned else "", "magenta"),
            f"  {snap.running} running",
        )
        best = f"{snap.best_score:.4f}" if snap.best_score is not None else "--"
        line2 = Text.assemble(
            f"elapsed {format_duration(snap.elapsed_s)}",
            f"  ETA {format_duration(snap.eta_s) if state == 'running' else '--'}",
            f"  {snap.rate_per_s:.2f} trials/s",
            f"  nodes {live}",
            "  best ",
            (best, "bold"),
            f"  {snap.endpoint}",
            (f" {snap.link}" if snap.link else "", LINK_STYLES.get(snap.link, "")),
            f"  saves to {snap.checkpoint}",
            no_wrap=True,
            overflow="ellipsis",
        )
        # Each line is cut, never wrapped: a wrapped first line would push the second off.
        both = Text("\n", no_wrap=True, overflow="ellipsis").join([line1, line2])
        both.no_wrap, both.overflow = True, "ellipsis"
        self.update(both)

    def show_message(self, name: str, state: str, message: str) -> None:
        """Before the scheduler runs, or after it failed to start."""
        self.update(
            Text.assemble(
                (name, "bold"), "  ", (state.upper(), STATE_STYLES.get(state, "")), "\n", message
            )
        )
