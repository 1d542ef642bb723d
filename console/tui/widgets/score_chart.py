"""Scores over the search: each finished trial as a column, oldest at the left, with the best so
far drawn over them and, on the bottom lane, the trials that failed or were pruned.

Green bars are trials that set a new best, blue ones the others; the yellow line is the best so
far. When there are more trials than columns, each column stands for a run of consecutive
trials and shows the best of them, so the whole search stays in view and the best bar with it.
The lane marks a column ✕ (red) if a trial in it failed, else ▾ (magenta) if one was pruned:
glyphs, so they read without colour too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from console.view.models import TrialView

BLOCKS = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 7
FAILED_MARK, PRUNED_MARK = "✕", "▾"
CHARTED = ("ok", "failed", "pruned")
MAX_CELLS_PER_TRIAL = 4


@dataclass(frozen=True)
class Column:
    top: float | None  # the best score among its scored trials; None: none scored
    best: float | None  # the best so far at its last trial; None: nothing scored yet
    new_best: bool  # the best so far rose within it
    failed: int = 0
    pruned: int = 0


def columns_of(entries: list[tuple[str, float | None]], columns: int) -> list[Column]:
    """At most `columns` columns for (status, score) entries in the order they finished."""
    best_so_far: list[float | None] = []
    best: float | None = None
    for status, score in entries:
        if status == "ok" and score is not None and (best is None or score > best):
            best = score
        best_so_far.append(best)
    count = len(entries)
    width = min(count, columns)
    out = []
    for column in range(width):
        start, end = column * count // width, (column + 1) * count // width
        run = entries[start:end]
        scores = [s for status, s in run if status == "ok" and s is not None]
        before = best_so_far[start - 1] if start else None
        after = best_so_far[end - 1]
        out.append(
            Column(
                top=max(scores) if scores else None,
                best=after,
                new_best=after is not None and (before is None or after > before),
                failed=sum(status == "failed" for status, _ in run),
                pruned=sum(status == "pruned" for status, _ in run),
            )
        )
    return out


class ScoreChart(Widget):
    """Columns of block characters scaled between the lowest bar and the best score."""

    DEFAULT_CSS = """
    ScoreChart { height: 3; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every finished trial, in the order it finished: 100,000 trials are a few megabytes.
        self.entries: list[tuple[str, float | None]] = []
        self._charted: set[tuple[int, str]] = (
            set()
        )  # (trial, status): a retried failure counts again

    def record(self, trials: Iterable[TrialView]) -> None:
        """Chart the trials among `trials` that have just become final."""
        added = False
        for trial in trials:
            key = (trial.id, trial.status)
            if trial.status in CHARTED and key not in self._charted:
                self._charted.add(key)
                self.entries.append((trial.status, trial.score))
                added = True
        if added:
            self.refresh()

    def clear(self) -> None:
        self.entries.clear()
        self._charted.clear()
        self.refresh()

    def render(self) -> Text:
        height = max(1, self.size.height)
        lane = height >= 3  # the bottom row marks failed and pruned trials
        rows = height - 1 if lane else height
        width = max(1, self.size.width - LABEL_WIDTH)
        shown = columns_of(self.entries, width)
        # A few trials on a wide chart: each gets several cells, so the chart spans the width.
        self._cells = max(1, min(MAX_CELLS_PER_TRIAL, width // max(1, len(shown))))
        bars = [c.top for c in shown if c.top is not None]
        if not bars:
            if any(c.failed or c.pruned for c in shown):
                return self._lane_only(shown, height)
            return Text("scores appear here as trials finish", style="dim")
        low, high = min(bars), max(c.best for c in shown if c.best is not None)
        span = (high - low) or 1.0
        levels = rows * (len(BLOCKS) - 1)

        def level(value: float) -> int:
            return max(1, round((value - low) / span * levels))  # 1: even the worst shows

        out = Text(no_wrap=True)
        for row in range(rows):  # top row first
            floor = (rows - 1 - row) * (len(BLOCKS) - 1)
            label = f"{high:.4f} " if row == 0 else f"{low:.4f} " if row == rows - 1 else ""
            out.append(label.rjust(LABEL_WIDTH)[:LABEL_WIDTH], style="dim")
            for column in shown:
                best_here = column.best is not None and (
                    floor < level(column.best) <= floor + len(BLOCKS) - 1
                )
                filled = 0
                if column.top is not None:
                    filled = min(len(BLOCKS) - 1, max(0, level(column.top) - floor))
                if best_here and filled < len(BLOCKS) - 1:
                    out.append("─" * self._cells, style="bold yellow")
                else:
                    glyph = BLOCKS[filled] * self._cells
                    out.append(glyph, style="green" if column.new_best else "blue")
            if row < rows - 1:
                out.append("\n")
        if lane:
            out.append("\n")
            self._append_lane(out, shown)
        return out

    def _lane_only(self, shown: list[Column], height: int) -> Text:
        self._cells = 1
        out = Text("\n" * (height - 1), no_wrap=True)
        self._append_lane(out, shown)
        return out

    def _append_lane(self, out: Text, shown: list[Column]) -> None:
        out.append("".rjust(LABEL_WIDTH), style="dim")
        pad = " " * (self._cells - 1)
        for column in shown:
            if column.failed:
                out.append(FAILED_MARK + pad, style="bold red")
            elif column.pruned:
                out.append(PRUNED_MARK + pad, style="magenta")
            else:
                out.append(" " * self._cells)
