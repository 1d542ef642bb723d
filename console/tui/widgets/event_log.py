"""The log panel: nodes joining and leaving, requeues, failures, checkpoints, exports, refusals."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import RichLog

from console.view.models import LogLine
from console.view.wording import format_duration

SEVERITY_STYLES = {"info": "", "good": "green", "warning": "yellow", "error": "bold red"}
MAX_LINES = 2000
STAMP_WIDTH = 7  # "1:23:45"


class EventLog(RichLog):
    """Lines stamped with the search's elapsed time (so a frozen clock gives a stable screen)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(
            *args, max_lines=MAX_LINES, wrap=True, markup=False, min_width=20, **kwargs
        )

    def add(self, lines: list[LogLine], overflow: int = 0) -> None:
        """Lines stamped with their search time."""
        for line in lines:
            stamp = format_duration(line.at)
            self._write_line(stamp, Text(line.text, style=SEVERITY_STYLES[line.severity]))
        if overflow:
            self._write_line("", Text(f"... {overflow} more lines not shown", style="dim"))

    def _write_line(self, stamp: str, text: Text) -> None:
        """The stamp in its own column, so a wrapped line goes on under the text, not under
        the stamp (a command split over two lines still reads as one)."""
        row = Table.grid(padding=(0, 1), expand=True)
        row.add_column(width=STAMP_WIDTH, no_wrap=True, justify="right", style="dim")
        row.add_column(ratio=1, overflow="fold")
        row.add_row(stamp, text)
        # Follow new lines only from the bottom: an operator who scrolled up to read keeps
        # their place (End, or scrolling back down, follows again).
        self.write(row, expand=True, scroll_end=self.is_vertical_scroll_end or not self.has_focus)
