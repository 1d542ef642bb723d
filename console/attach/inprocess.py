"""The TUI's channel to a console host in its own process: the same messages as over the
control socket, handed over as objects. Quitting this TUI shuts the search down."""

from __future__ import annotations

from typing import Any

from console.attach.host import ConsoleHost
from console.view.mirror import SearchMirror
from console.view.models import Reply


class InProcessLink:
    owns_search = True  # q quits the console (checkpoint, stop local nodes), not only the view
    problem: str | None = None  # the channel itself cannot fail

    def __init__(self, host: ConsoleHost) -> None:
        self.host = host
        self.mirror = SearchMirror()
        self.clock = host.clock

    async def start(self) -> None:
        self.host.subscribe(self.mirror.apply)
        await self.host.start()

    async def command(self, name: str, **args: Any) -> Reply:
        return await self.host.command(name, args)

    async def close(self) -> None:
        await self.host.shutdown()
