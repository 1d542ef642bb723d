"""The log panel: nodes joining and leaving, requeues, failures, checkpoints, exports, refusals."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from console.headless import format_duration
from console.view_updates import LogLine

SEVERITY_STYLES = {"info": "", "good": "green", "warning": "yellow", "error": "bold red"}
MAX_LINES = 2000


class EventLog(RichLog):
    """Lines stamped with the search's elapsed time (so a frozen clock gives a stable screen)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(
            *args, max_lines=MAX_LINES, wrap=True, markup=False, min_width=20, **kwargs
        )

    def add(self, lines: list[LogLine], started: float, overflow: int = 0) -> None:
        for line in lines:
            stamp = format_duration(max(0.0, line.at - started))
            self.write(
                Text.assemble((f"{stamp:>7} ", "dim"), (line.text, SEVERITY_STYLES[line.severity]))
            )
        if overflow:
            self.write(Text(f"... {overflow} more lines not shown", style="dim"))
