"""The status lines at the top: what is running, how far along, how fast, and where it is saved.

Items wrap between each other, never inside one, and each group starts a line: at 80 columns
the address and checkpoint get a third line instead of being cut off, and a 4-digit count or a
long search name never pushes elapsed, ETA or best out of sight.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from console.view.models import Snapshot
from console.view.wording import format_duration

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
MIN_BAR_WIDTH = 8
MAX_NAME = 24  # a longer search name is cut with an ellipsis (the farewell prints it whole)


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = min(width, round(width * done / total)) if total else 0
    return "█" * filled + "░" * (width - filled)


def elide(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class StatusBar(Widget):
    """Search name, strategy, state, progress, elapsed, ETA, rate, nodes, address, checkpoint."""

    DEFAULT_CSS = """
    StatusBar { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._snap: Snapshot | None = None
        self._problem: str | None = None
        self._state: str | None = None
        self._message: tuple[str, str, str] | None = None

    def show(self, snap: Snapshot, state: str | None = None, problem: str | None = None) -> None:
        """`problem`: the link's trouble (an attached console gone quiet), on a line of its own."""
        self._snap, self._state, self._message = snap, state or snap.state, None
        self._problem = problem
        self.refresh(layout=True)

    def show_message(self, name: str, state: str, message: str) -> None:
        """Before the scheduler runs, or after it failed to start."""
        self._snap, self._message = None, (name, state, message)
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        return Text("\n", no_wrap=True).join(self.lines(self.content_region.width))

    def lines(self, width: int) -> list[Text]:
        """The status as lines of at most `width` cells."""
        width = max(20, width)
        if self._message is not None:
            name, state, message = self._message
            head = Text.assemble((elide(name, MAX_NAME), "bold"), "  ", _state_text(state))
            return [head, Text(elide(message, width))]
        if self._snap is None:
            return [Text("")]
        snap, state = self._snap, self._state or self._snap.state
        lines: list[Text] = []
        if self._problem:
            lines.append(Text(elide(self._problem, width), style="bold red"))
        for group in (_progress_items(snap, state, width), _timing_items(snap, state)):
            lines += _flow(group, width)
        return lines


def _state_text(state: str) -> Text:
    return Text(state.upper(), style=STATE_STYLES.get(state, "bold"))


def _progress_items(snap: Snapshot, state: str, width: int) -> list[Text]:
    # A long name gives way first (to a fifth of the line), then the bar, never the counts.
    name = elide(snap.name, max(12, min(MAX_NAME, width // 5)))
    head = Text.assemble((name, "bold"), f" · {snap.strategy} · ", _state_text(state))
    counts = Text(f" {snap.finished}/{snap.planned}")
    if snap.failed:
        counts.append(f" ({snap.failed} failed)", style="red")
    if snap.pruned:
        counts.append(f" ({snap.pruned} pruned)", style="magenta")
    counts.append(f"  {snap.running} running")
    room = width - head.cell_len - 2 - counts.cell_len
    bar_width = max(MIN_BAR_WIDTH, min(BAR_WIDTH, room))
    bar = Text(progress_bar(snap.finished, snap.planned, bar_width), style="green")
    return [head, bar + counts]


def _timing_items(snap: Snapshot, state: str) -> list[Text]:
    best = f"{snap.best_score:.4f}" if snap.best_score is not None else "--"
    eta = format_duration(snap.eta_s) if state == "running" else "--"
    address = Text(snap.endpoint)
    if snap.link:
        address.append(f" {snap.link}", style=LINK_STYLES.get(snap.link, ""))
    live = sum(1 for n in snap.nodes if n.state not in ("lost", "left"))
    return [
        Text(f"elapsed {format_duration(snap.elapsed_s)}"),
        Text(f"ETA {eta}"),
        Text(f"{snap.rate_per_s:.2f} trials/s"),
        Text(f"nodes {live}"),
        Text.assemble("best ", (best, "bold")),
        address,
        Text(f"saves to {snap.checkpoint}"),
    ]


def _flow(items: list[Text], width: int, gap: int = 2) -> list[Text]:
    """Items on as few lines as fit, `gap` apart, breaking only between items; an item longer
    than a line is cut with an ellipsis rather than wrapped."""
    lines: list[Text] = []
    line = Text(no_wrap=True)
    for item in items:
        if line.cell_len and line.cell_len + gap + item.cell_len > width:
            lines.append(line)
            line = Text(no_wrap=True)
        if line.cell_len:
            line.append(" " * gap)
        if item.cell_len > width - line.cell_len:
            item = item.copy()
            item.truncate(width - line.cell_len, overflow="ellipsis")
        line.append_text(item)
    lines.append(line)
    return lines
