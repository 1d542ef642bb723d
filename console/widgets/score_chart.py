"""Live accuracy: each finished trial's score as a column, with the best-so-far line over it."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"
HISTORY = 2000  # more than any terminal is wide; older points scroll off the left
LABEL_WIDTH = 7


class ScoreChart(Widget):
    """Columns of block characters, newest at the right, scaled between the visible min and max."""

    DEFAULT_CSS = """
    ScoreChart { height: 3; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scores: deque[float] = deque(maxlen=HISTORY)
        self.best: deque[float] = deque(maxlen=HISTORY)

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
        scores, best = list(self.scores)[-columns:], list(self.best)[-columns:]
        low, high = min(scores), max(best)
        span = (high - low) or 1.0
        levels = rows * (len(BLOCKS) - 1)

        def level(value: float) -> int:
            return max(1, round((value - low) / span * levels))  # 1: even the worst shows

        out = Text(no_wrap=True)
        for row in range(rows):  # top row first
            floor = (rows - 1 - row) * (len(BLOCKS) - 1)
            label = f"{high:.4f} " if row == 0 else f"{low:.4f} " if row == rows - 1 else ""
            out.append(label.rjust(LABEL_WIDTH)[:LABEL_WIDTH], style="dim")
            for score, top in zip(scores, best, strict=True):
                best_here = floor < level(top) <= floor + len(BLOCKS) - 1
                filled = min(len(BLOCKS) - 1, max(0, level(score) - floor))
                if best_here and filled < len(BLOCKS) - 1:
                    out.append("─", style="bold yellow")
                else:
                    out.append(BLOCKS[filled], style="green" if score == top else "blue")
            if row < rows - 1:
                out.append("\n")
        return out
