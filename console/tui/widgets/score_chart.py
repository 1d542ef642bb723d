"""Live accuracy: each finished trial's score as a column, with the best-so-far line over it.

Green bars are trials that set a new best, blue ones the others; the yellow line is the best so
far. When there are more trials than columns, each column stands for a run of consecutive
trials and shows the best of them, so the whole search stays in view and the best bar with it.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 7


def columns_of(
    scores: list[float], best: list[float], columns: int
) -> list[tuple[float, float, bool]]:
    """(bar height, best so far, set a new best) per column, for at most `columns` columns."""
    count = len(scores)
    if count <= columns:
        return [(s, b, s == b) for s, b in zip(scores, best, strict=True)]
    out = []
    for column in range(columns):
        start, end = column * count // columns, (column + 1) * count // columns
        top = max(scores[start:end])
        # A new best in this run: the best so far rose within it (or it holds the first trial).
        before = best[start - 1] if start else float("-inf")
        out.append((top, best[end - 1], best[end - 1] > before))
    return out


class ScoreChart(Widget):
    """Columns of block characters, oldest at the left, scaled between the lowest bar and the
    best score."""

    DEFAULT_CSS = """
    ScoreChart { height: 3; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every finished trial's score (a float each: 100,000 trials are under a megabyte).
        self.scores: list[float] = []
        self.best: list[float] = []

    def add(self, scores: list[float]) -> None:
        if not scores:
            return
        for score in scores:
            self.best.append(max(score, self.best[-1]) if self.best else score)
            self.scores.append(score)
        self.refresh()

    def clear(self) -> None:
        self.scores.clear()
        self.best.clear()
        self.refresh()

    def render(self) -> Text:
        rows = max(1, self.size.height)
        columns = max(1, self.size.width - LABEL_WIDTH)
        if not self.scores:
            return Text("scores appear here as trials finish", style="dim")
        shown = columns_of(self.scores, self.best, columns)
        low, high = min(bar for bar, _, _ in shown), max(top for _, top, _ in shown)
        span = (high - low) or 1.0
        levels = rows * (len(BLOCKS) - 1)

        def level(value: float) -> int:
            return max(1, round((value - low) / span * levels))  # 1: even the worst shows

        out = Text(no_wrap=True)
        for row in range(rows):  # top row first
            floor = (rows - 1 - row) * (len(BLOCKS) - 1)
            label = f"{high:.4f} " if row == 0 else f"{low:.4f} " if row == rows - 1 else ""
            out.append(label.rjust(LABEL_WIDTH)[:LABEL_WIDTH], style="dim")
            for score, top, new_best in shown:
                best_here = floor < level(top) <= floor + len(BLOCKS) - 1
                filled = min(len(BLOCKS) - 1, max(0, level(score) - floor))
                if best_here and filled < len(BLOCKS) - 1:
                    out.append("─", style="bold yellow")
                else:
                    out.append(BLOCKS[filled], style="green" if new_best else "blue")
            if row < rows - 1:
                out.append("\n")
        return out
