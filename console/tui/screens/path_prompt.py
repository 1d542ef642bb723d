"""Ask for a file path (open, save as); the caller checks it and may show an error in place."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, Static

# Returns None when the path is acceptable (the screen closes), else an error to show. It may be
# a coroutine: the check runs where the search does (the console may be another process).
PathCheck = Callable[[Path], str | Awaitable[str | None] | None]


class PathSuggester(Suggester):
    """Completes the last part of a path from the file system (accept with the right arrow).

    Folders and .toml files only: those are what the console opens and saves.
    """

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes

    async def get_suggestion(self, value: str) -> str | None:
        folder, slash, prefix = value.rpartition("/")
        base = Path(folder + slash or ".").expanduser()  # "runs/d" -> runs/, "/x" -> /, "s" -> .
        try:
            names = [
                entry.name + ("/" if entry.is_dir() else "")
                for entry in base.iterdir()
                if entry.name.startswith(prefix)
                and not entry.name.startswith(".")
                and (entry.is_dir() or entry.suffix == ".toml")
            ]
        except OSError:
            return None
        names.sort(key=lambda name: (name.endswith("/"), name))  # files first: usually meant
        return value + names[0][len(prefix) :] if names else None


class PathPrompt(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PathPrompt { align: center middle; }
    PathPrompt > Vertical {
        width: 90; max-width: 95%; height: auto; border: thick $accent; padding: 1 2;
        background: $surface;
    }
    PathPrompt #error { color: $error; height: auto; }
    PathPrompt .hint { color: $text-muted; }
    """

    def __init__(self, title: str, initial: str, check: PathCheck) -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(value=self.initial, id="path", suggester=PathSuggester())
            yield Static("", id="error")
            yield Label("Enter: accept   right arrow: complete   Escape: cancel", classes="hint")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if not raw:
            self.query_one("#error", Static).update("type a file path")
            return
        path = Path(raw).expanduser()
        error = self.check(path)
        if inspect.isawaitable(error):
            error = await error
        if error:
            self.query_one("#error", Static).update(error)
        else:
            self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
