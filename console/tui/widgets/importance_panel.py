"""Which hyperparameters matter: the console's PED-ANOVA importances as a ranked bar list."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from console.view.models import Importance

BAR = "█"
PARTIAL = " ▏▎▍▌▋▊▉"  # eighths of a cell, so small shares still differ
ROUGH_BELOW = 50  # with fewer scored trials the ranking can change from one trial to the next


def bar(share: float, width: int) -> str:
    """`share` (0..1) of `width` cells, to an eighth of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    whole, part = divmod(eighths, 8)
    return BAR * whole + (PARTIAL[part] if part else "")


def importance_lines(importance: Importance, width: int, rows: int) -> list[tuple[str, str, str]]:
    """(name, bar, percent) per shown parameter, most important first, fitting `width` cells;
    the last row says how many more there are when they do not all fit."""
    ranked = importance.ranked
    if not ranked:
        return []
    name_width = min(max(cell_len(name) for name, _ in ranked), max(6, width // 3))
    bar_width = max(1, width - name_width - 6)  # "name bar 100%"
    top = ranked[0][1] or 1.0
    lines = []
    shown = ranked if len(ranked) <= rows else ranked[: max(0, rows - 1)]
    for name, share in shown:
        label = name if cell_len(name) <= name_width else name[: name_width - 1] + "…"
        filled = bar(share / top, bar_width).ljust(bar_width)
        lines.append((label.ljust(name_width), filled, f"{share:4.0%}"))
    if len(shown) < len(ranked):
        lines.append((f"+{len(ranked) - len(shown)} more".ljust(name_width), "", ""))
    return lines


class ImportancePanel(Widget):
    DEFAULT_CSS = """
    ImportancePanel { height: auto; min-height: 1; padding: 0 1; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.importance = Importance()

    def show(self, importance: Importance) -> None:
        self.importance = importance
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, min(len(self.importance.ranked) + 1, 8))

    def render(self) -> Text:
        imp = self.importance
        if not imp.ranked:
            return Text(f"importance {imp.note or 'not computed yet'}", style="dim")
        out = Text(no_wrap=True)
        rows = max(1, self.size.height - 1)
        for name, filled, percent in importance_lines(imp, self.size.width, rows):
            out.append(f"{name} ")
            out.append(filled, style="cyan")
            out.append(f" {percent}\n" if percent else "\n", style="bold")
        rough = " (rough below 50)" if imp.over < ROUGH_BELOW else ""
        out.append(f"PED-ANOVA over {imp.over} scored trials{rough}", style="dim")
        return out
