"""The footer: every key the console offers right now, wrapped onto a second line when narrow.

Textual's Footer is one line and cuts off what does not fit; at 80 columns that hid half the
actions, so this one wraps between items (never inside one) instead.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

KEY_STYLE = "reverse bold"


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.items: list[tuple[str, str]] = []

    def show(self, items: list[tuple[str, str]]) -> None:
        """(key, label) pairs, in the order they should appear."""
        if items != self.items:
            self.items = items
            self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self._lines(width)))

    def render(self) -> Text:
        return Text("\n").join(self._lines(self.content_region.width or self.size.width))

    def _lines(self, width: int) -> list[Text]:
        lines: list[Text] = []
        line = Text(no_wrap=True)
        for key, label in self.items:
            item = Text.assemble((f" {key} ", KEY_STYLE), label)
            if line.cell_len and line.cell_len + 1 + item.cell_len > width:
                lines.append(line)
                line = Text(no_wrap=True)
            if line.cell_len:
                line.append(" ")
            line.append_text(item)
        lines.append(line)
        return lines
