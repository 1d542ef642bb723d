"""TUI test harness: the real ConsoleApp under Textual's Pilot, with real nodes and sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable

from console.attach.host import ConsoleHost
from console.running_search import LaunchOptions, RunningSearch
from console.searchfile.session import open_search
from console.tui.app import ConsoleApp
from console.tui.widgets.event_log import EventLog

SIZE = (120, 40)


def make_app(search_file: Path, checkpoint: Path, local_nodes: int = 0, **options) -> ConsoleApp:
    opened = open_search(search_file, save_to=checkpoint)
    options = LaunchOptions(local_nodes=local_nodes, local_slots=1, **options)
    return ConsoleApp.running_here(opened, options)


def host_of(app: ConsoleApp) -> ConsoleHost:
    """The console host an in-process TUI runs its search in (tests look behind the view)."""
    return app.link.host  # type: ignore[attr-defined]


def running_of(app: ConsoleApp) -> RunningSearch:
    running = host_of(app).running
    assert running is not None
    return running


async def until(
    pilot: Pilot,
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    seen: Callable[[], str] | None = None,
) -> None:
    """Let the app run until `predicate` holds; fail naming `what` (and what `seen` says was
    there instead) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            instead = f"; saw: {seen()}" if seen is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}{instead}")
        await pilot.pause(0.05)


def text_of(widget: Widget) -> str:
    """What a Static-like widget shows, as plain text."""
    return widget.render().plain  # type: ignore[union-attr]


def log_text(app: ConsoleApp) -> str:
    """The log panel's text with wrapped lines joined back up."""
    return " ".join(" ".join(strip.text.split()) for strip in app.query_one(EventLog).lines)


def table_rows(table: DataTable) -> list[list[str]]:
    """Every row's cells as plain strings, in display order."""
    return [
        [cell.plain if hasattr(cell, "plain") else str(cell) for cell in table.get_row_at(i)]
        for i in range(table.row_count)
    ]


def run(scenario: Callable[[], object]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]
