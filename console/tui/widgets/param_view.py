"""Score against one hyperparameter's value: every scored trial as a dot, the best as ◆.

x is the parameter's range as the search file gives it (log-scaled if it is searched on a log
scale; one slot per value for a choice), y is the score. A dot's weight says how many trials
share its cell: · one, • a few, ● many. `v` picks the next parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from console.tui.widgets.params_cell import format_value

LABEL_WIDTH = 7
BEST = "◆"


def weight(count: int) -> str:
    return " " if count == 0 else "·" if count == 1 else "•" if count <= 3 else "●"


def x_slot(dimension: Mapping[str, Any], value: Any, columns: int) -> int | None:
    """The column of `value` in a strip `columns` wide; None if it is not in the range."""
    if dimension.get("type") == "choice":
        names = [str(v) for v in dimension.get("values", [])]
        if str(value) not in names or not names:
            return None
        slot = max(1, columns // len(names))
        return min(columns - 1, names.index(str(value)) * slot + slot // 2)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    low, high = float(dimension["low"]), float(dimension["high"])
    if dimension.get("log") and low > 0 and value > 0:
        low, high, value = math.log(low), math.log(high), math.log(value)
    if not low <= value <= high:
        return None
    share = (value - low) / (high - low) if high > low else 0.5
    return min(columns - 1, int(share * columns))


def strip(
    dimension: Mapping[str, Any],
    points: list[tuple[Any, float]],
    best: tuple[Any, float] | None,
    columns: int,
    rows: int,
) -> list[str]:
    """`rows` strings of `columns` cells, top row the highest score."""
    counts = [[0] * columns for _ in range(rows)]
    scores = [score for _, score in points]
    if not scores:
        return [" " * columns for _ in range(rows)]
    low, high = min(scores), max(scores)

    def row_of(score: float) -> int:
        share = (score - low) / (high - low) if high > low else 1.0
        return rows - 1 - round(share * (rows - 1))

    for value, score in points:
        column = x_slot(dimension, value, columns)
        if column is not None:
            counts[row_of(score)][column] += 1
    grid = [[weight(n) for n in row] for row in counts]
    if best is not None:
        column = x_slot(dimension, best[0], columns)
        if column is not None:
            grid[row_of(best[1])][column] = BEST
    return ["".join(row) for row in grid]


def x_axis(dimension: Mapping[str, Any], columns: int) -> str:
    """The range's ends (or each choice) under the strip."""
    if dimension.get("type") == "choice":
        names = [str(v) for v in dimension.get("values", [])]
        slot = max(1, columns // max(1, len(names)))
        cells = "".join(n[: slot - 1].center(slot) if slot > 1 else n[:1] for n in names)
        return cells[:columns]
    low, high = format_value(dimension["low"]), format_value(dimension["high"])
    scale = " log " if dimension.get("log") else ""
    gap = max(1, columns - cell_len(low) - cell_len(high))
    return (low + scale.center(gap) + high)[:columns]


class ParamView(Widget):
    DEFAULT_CSS = """
    ParamView { height: 11; padding: 0 1; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name_shown: str | None = None
        self.dimension: Mapping[str, Any] = {}
        self.points: list[tuple[Any, float]] = []
        self.best: tuple[Any, float] | None = None

    def show(
        self,
        name: str | None,
        dimension: Mapping[str, Any],
        points: list[tuple[Any, float]],
        best: tuple[Any, float] | None,
    ) -> None:
        self.name_shown, self.dimension, self.points, self.best = name, dimension, points, best
        self.refresh()

    def render(self) -> Text:
        if self.name_shown is None:
            return Text("no parameter to show", style="dim")
        if not self.points:
            return Text(f"{self.name_shown}: its scored trials appear here", style="dim")
        rows = max(1, self.size.height - 1)
        columns = max(1, self.size.width - LABEL_WIDTH)
        scores = [score for _, score in self.points]
        out = Text(no_wrap=True)
        for row, line in enumerate(strip(self.dimension, self.points, self.best, columns, rows)):
            label = f"{max(scores):.4f} " if row == 0 else ""
            if row == rows - 1 and rows > 1:
                label = f"{min(scores):.4f} "
            out.append(label.rjust(LABEL_WIDTH)[:LABEL_WIDTH], style="dim")
            for cell in line:
                out.append(cell, style="bold yellow" if cell == BEST else "cyan")
            out.append("\n")
        out.append("".rjust(LABEL_WIDTH))
        out.append(x_axis(self.dimension, columns), style="dim")
        return out
