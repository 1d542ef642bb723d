"""The key table, built from the app's own bindings so it can never disagree with them."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.search.base import STRATEGY_FIT

KEY_NAMES = {"question_mark": "?", "ctrl+q": "ctrl+q", "ctrl+c": "ctrl+c"}


def key_names(binding: Binding) -> str:
    """'question_mark,f1' -> '? / f1', as a person would type them."""
    keys = [key.strip() for key in binding.key.split(",")]
    return " / ".join(KEY_NAMES.get(key, key.upper() if _is_f_key(key) else key) for key in keys)


def _is_f_key(key: str) -> bool:
    return key[:1] == "f" and key[1:].isdigit()


def key_table(bindings: list[Binding]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("key")
    table.add_column("action")
    for binding in bindings:
        table.add_row(key_names(binding), binding.tooltip or binding.description)
    return table


def strategy_table() -> Table:
    table = Table(box=None, show_header=False)
    table.add_column("strategy")
    table.add_column("fits")
    for name, fit in STRATEGY_FIT.items():
        table.add_row(name, fit)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%; border: thick $accent;
        padding: 1 2; background: $surface;
    }
    """

    def __init__(self, bindings: list[Binding], intro: str) -> None:
        super().__init__()
        self.bindings_shown = bindings
        self.intro = intro

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.intro)
            yield Static(key_table(self.bindings_shown))
            yield Static(
                "\nTab / shift+Tab move between the nodes table, the trials table and the log; "
                "arrows, PgUp / PgDn and Home / End move or scroll within it."
            )
            yield Static("\nEvery action is also in the command palette (ctrl+p).")
            yield Static("\n[b]Strategies[/b] ([search] strategy = ...)")
            yield Static(strategy_table())

    def action_close(self) -> None:
        self.dismiss(None)
