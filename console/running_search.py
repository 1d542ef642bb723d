"""One search being run: its scheduler task and the local nodes the console started for it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from console.local_nodes import LocalNodes, default_slots
from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.session import OpenedSearch


@dataclass(frozen=True)
class LaunchOptions:
    """Command-line overrides of the search file's [cluster] table (None: use the file's)."""

    local_nodes: int | None = None
    local_slots: int | None = None
    bind: str | None = None


class RunningSearch:
    """Start with `start()` (inside the event loop), finish with `shutdown()`."""

    def __init__(
        self,
        opened: OpenedSearch,
        options: LaunchOptions,
        on_event: Callable[[ev.Event], None],
        *,
        exit_when_done: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.opened = opened
        cluster = opened.spec.cluster
        count = cluster.local_nodes if options.local_nodes is None else options.local_nodes
        self.local_count = count
        self.local_slots = options.local_slots or cluster.local_slots or default_slots(count)
        extra = {"clock": clock} if clock is not None else {}
        self.scheduler = Scheduler(
            opened.spec,
            opened.checkpoint,
            state=opened.state,
            bind=options.bind,
            on_event=on_event,
            exit_when_done=exit_when_done,
            **extra,
        )
        self.local: LocalNodes | None = None
        self.task: asyncio.Task[str] | None = None

    async def start(self) -> None:
        """Bind and start the local nodes; re-raises what stopped the scheduler from starting."""
        self.task = asyncio.create_task(self.scheduler.run())
        ready = asyncio.ensure_future(self.scheduler.ready.wait())
        await asyncio.wait({ready, self.task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self.task.done():
            self.task.result()  # raises, e.g. BindError
        checkpoint = self.opened.checkpoint
        self.local = LocalNodes(
            self.scheduler.endpoint,
            self.local_slots,
            self.opened.spec.cluster.heartbeat_s,
            checkpoint.parent / f"{checkpoint.stem}.logs",
        )
        if self.local_count:
            self.local.start(self.local_count)

    @property
    def serving(self) -> bool:
        """The scheduler's loop is running (it has not returned, stopped or failed)."""
        return self.task is not None and not self.task.done()

    async def wait(self) -> str:
        """Until the scheduler returns (stopped, or finished when exit_when_done)."""
        assert self.task is not None
        return await self.task

    async def shutdown(self) -> None:
        """Stop the scheduler (it checkpoints) and the local nodes. Safe to call twice."""
        self.scheduler.stop()
        if self.task is not None and not self.task.done():
            await asyncio.wait({self.task})
        if self.local is not None:
            await asyncio.to_thread(self.local.stop_all)
