"""What the TUI needs of its channel to a console (console/attach: in-process or remote)."""

from __future__ import annotations

from typing import Any, Protocol

from console.view.mirror import SearchMirror
from console.view.models import Reply


class ConsoleLink(Protocol):
    mirror: SearchMirror
    owns_search: bool  # quitting the app stops the search (in-process) or only detaches
    problem: str | None  # the channel's trouble (the console went quiet), shown in the status

    async def start(self) -> None: ...

    async def command(self, name: str, **args: Any) -> Reply: ...

    async def close(self) -> None: ...
