"""A yes/no question: `y`/Enter confirms, `n`/Escape declines."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 70; max-width: 95%; height: auto; border: thick $warning; padding: 1 2;
        background: $surface;
    }
    ConfirmScreen Label { width: 100%; }  /* wraps: a long checkpoint path is not cut off */
    ConfirmScreen .hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="question")
            if self.detail:
                yield Label(self.detail)
            yield Label("y / Enter: yes    n / Escape: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
