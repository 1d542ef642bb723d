"""The console process's side of every front end: it runs one search at a time, streams its view
to each front end attached (the TUI in this process, operators over the control socket) and
carries out their commands (console/attach/commands.py).

Front ends get only view messages (console/view/models.py): a FullState when they attach or the
search changes, then an Update per refresh. So the in-process TUI and an attached one are the
same code over a different channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import zmq

from console.attach import commands
from console.attach.exporter import Exporter
from console.attach.registry import AttachError
from console.attach.server import ControlServer
from console.running_search import LAUNCH_ERRORS, LaunchOptions, RunningSearch
from console.scheduler import events as ev
from console.searchfile.session import CheckpointConflict, OpenedSearch, open_search
from console.searchfile.toml_io import SearchFileError
from console.view.feed import ViewFeed
from console.view.models import FullState, HostView, Notice, Reply, Update

log = logging.getLogger("hpo.host")

REFRESH_EVERY_S = 0.1  # coalesce: front ends change at most ten times a second

Message = FullState | Update
Subscriber = Callable[[Message], None]


class ConsoleHost:
    """`await start()` inside the event loop; `await shutdown()` to checkpoint and stop."""

    def __init__(
        self,
        opened: OpenedSearch,
        options: LaunchOptions | None = None,
        *,
        clock: Callable[[], float] | None = None,
        exit_when_done: bool = False,
        listeners: tuple[Callable[[ev.Event], None], ...] = (),
        can_switch: bool = True,
        auto_export: bool = True,
        serve_control: bool = True,
        control_bind: str | None = None,
    ) -> None:
        self.opened = opened
        self.options = options or LaunchOptions()
        self.clock = clock
        self.exit_when_done = exit_when_done
        self.listeners = listeners
        self.can_switch = can_switch  # headless runs its one search to the end: no open/reopen
        self.auto_export = auto_export  # [export] auto when the search finishes (headless: its own)
        self.running: RunningSearch | None = None
        self.feed: ViewFeed | None = None
        self.generation = 0
        self.failure: str | None = None
        self.exporter = Exporter(self.say, self.notify)
        self.exported_for: int | None = None  # the best trial [export] auto last exported
        self.serve_control = serve_control  # listen for operators on a Unix socket
        self.control_bind = control_bind  # and on this TCP address (CURVE, operator keys)
        self.control: ControlServer | None = None
        self.attach_address = ""  # set by the control server once it listens
        self.launch_error: str | None = None  # the first search could not start (and why)
        self.started = asyncio.Event()  # the first search has been through its start
        # Where a headless console prints: what operators do to its search shows in its output
        # (docker compose logs) too, not only in the attached front ends.
        self.echo: Callable[[str], None] | None = None
        self._subscribers: dict[int, Subscriber] = {}
        self._next_subscriber = 0
        self._notices: list[Notice] = []
        self._search_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False

    # -- front ends ----------------------------------------------------------------------------

    def subscribe(self, deliver: Subscriber) -> int:
        """`deliver` gets the FullState now, then every Update; returns an id to unsubscribe."""
        self._next_subscriber += 1
        self._subscribers[self._next_subscriber] = deliver
        if self.feed is not None:
            deliver(self.feed.full_state(self.host_view()))
        return self._next_subscriber

    def unsubscribe(self, subscriber: int) -> None:
        self._subscribers.pop(subscriber, None)

    def full_state(self) -> FullState | None:
        return self.feed.full_state(self.host_view()) if self.feed else None

    def host_view(self) -> HostView:
        running = self.running
        local = running.local if running else None
        return HostView(
            failure=self.failure,
            exporting=self.exporter.running,
            exported=self.exporter.exported,
            local_nodes=tuple(local.running()) if local else (),
            serving=bool(running and running.serving),
            attach_address=self.attach_address,
            operators=self._operators(),
            headless=not self.can_switch,
        )

    def _operators(self) -> int:
        """Front ends watching: the in-process TUI (if any) plus every attached operator."""
        if self.control is None:
            return len(self._subscribers)
        return len(self._subscribers) - 1 + len(self.control.operators)

    def say(self, text: str, severity: str = "info") -> None:
        """A line in every front end's log."""
        if self.running is not None and self.feed is not None:
            self.feed.pending.log(self.running.scheduler.clock(), text, severity)

    def announce(self, text: str, severity: str = "info") -> None:
        """An operator's doing (a command, an attach): every front end's log and the echo."""
        self.say(text, severity)
        if self.echo is not None:
            self.echo(text)

    def notify(self, notice: Notice) -> None:
        """A toast on every front end, with the next update."""
        self._notices.append(notice)

    @property
    def state(self) -> str:
        """The search's state, or "error" once it stopped on one."""
        if self.failure:
            return "error"
        return str(self.running.scheduler.state) if self.running else "starting"

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Run the search; once it listens, serve the control endpoint for operators."""
        self._ticker = asyncio.create_task(self._tick())
        self.launch(self.opened)
        if not self.serve_control:
            return
        await self.started.wait()
        if self.launch_error is not None:
            return  # e.g. another console holds the checkpoint: its socket is not ours
        assert self.running is not None
        server = ControlServer(
            self, self.opened.checkpoint, self.control_bind, self.running.scheduler.keys
        )
        try:
            await server.start()
        except (zmq.ZMQError, AttachError, OSError, ValueError) as exc:
            await server.close()
            self.say(f"operators cannot attach: {exc}", "warning")
            return
        self.control = server
        tcp = f" (or over TCP at {server.tcp_address})" if server.tcp_address else ""
        self.say(f"operators attach with: hpo-console attach {self.opened.checkpoint}{tcp}")

    def launch(self, opened: OpenedSearch) -> None:
        """Run `opened` (any previous search must already be shut down)."""
        self.opened = opened
        self.failure = None
        self.exported_for = None
        self.generation += 1
        self.running = RunningSearch(
            opened, self.options, self._on_event, exit_when_done=self.exit_when_done,
            clock=self.clock,
        )  # fmt: skip
        if self.feed is not None:
            self.feed.close()  # the last search's: its importance computation is moot
        self.feed = ViewFeed(self.running.scheduler, self.generation)
        if opened.note:
            self.say(opened.note)
        self._broadcast(self.feed.full_state(self.host_view()))
        self._search_task = asyncio.create_task(self._run_search(self.running))

    def _on_event(self, event: ev.Event) -> None:
        if self.feed is not None:
            self.feed.pending.add(event)
        for listener in self.listeners:
            listener(event)

    async def _run_search(self, running: RunningSearch) -> None:
        try:
            await running.start()
        except LAUNCH_ERRORS as exc:
            self.launch_error = str(exc)
            self._failed(running, str(exc))
            await running.shutdown()
            return
        finally:
            self.started.set()
        if running.warning:
            self.say(running.warning, "warning")
            self.notify(Notice("Node link", running.warning, "warning", 15))
        for line in running.started_lines():
            self.say(line)
        hint = running.no_node_hint()
        if hint:
            self.say(hint, "warning")
        try:
            await running.wait()
        except Exception as exc:  # the scheduler checkpointed before re-raising; stay up
            self._failed(running, f"{type(exc).__name__}: {exc}")
            await running.shutdown()

    def _failed(self, running: RunningSearch, message: str) -> None:
        if running is not self.running:
            return
        self.failure = message
        self.say(f"search stopped on an error: {message}", "error")
        self.notify(Notice("Search stopped", message, "error", 15))

    async def command(
        self, name: str, args: dict | None = None, who: str = "console", full: bool = True
    ) -> Reply:
        """Carry out a front end's command (console/attach/commands.py)."""
        return await commands.run(self, name, args or {}, who, full)

    async def wait_search(self) -> None:
        """Until the current search's task ends (it stopped, failed or finished and exited)."""
        if self._search_task is not None:
            await asyncio.wait({self._search_task})
        if self.running is not None and self.running.task is not None:
            await asyncio.wait({self.running.task})

    async def switch_to(self, path: Path) -> Reply | None:
        """Checkpoint and stop the current search, then run the one at `path`; or say why not."""
        if not self.can_switch:
            message = "this console runs headless, one search to its end: open it in a TUI console"
            return Reply(False, message)
        try:
            opened = open_search(path)
        except (SearchFileError, CheckpointConflict) as exc:
            return Reply(False, str(exc), title=f"Cannot open {path}")
        from console.searchfile.preflight import check

        # The same pre-flight as at start-up: a search that would burn its trials never starts.
        report = await asyncio.to_thread(check, opened.spec)
        if report.errors:
            lines = "\n".join(f"{path}: {error}" for error in report.errors)
            return Reply(False, lines, title="Pre-flight check failed")
        if self.running is not None:
            self.say("checkpointing and stopping this search...")
            await self.running.shutdown()
            self.flush()  # its last lines, before the next search's FullState
            # Read it again: when `path` resumes or extends the search just stopped, its last
            # results are in the checkpoint only now (if it fails now, what was read before
            # the stop is still a consistent start).
            with contextlib.suppress(SearchFileError, CheckpointConflict):
                opened = open_search(path)
        self.launch(opened)
        return None

    async def shutdown(self) -> None:
        """Checkpoint, stop the local nodes and the search. Safe to call twice."""
        if self.running is not None:
            await self.running.shutdown()
        if self._ticker is not None and not self._closed:
            self._closed = True
            self.flush()  # the last lines (stopping, checkpoint) reach every front end
            if self.feed is not None:
                self.feed.close()
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.control is not None:
            await self.control.close()
            self.control = None

    # -- the view, ten times a second ----------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            try:
                self.flush()
            except Exception:  # a front end's bug must not stop the others' view
                log.exception("view update failed")

    def flush(self) -> None:
        """Send what changed to every front end now (the ticker does it ten times a second)."""
        if self.feed is None:
            return
        notices, self._notices = tuple(self._notices), []
        update = self.feed.take(self.host_view(), notices)
        self._broadcast(update)
        if update.state == "finished":
            self._on_finished()

    def _broadcast(self, message: Message) -> None:
        for deliver in list(self._subscribers.values()):
            deliver(message)

    def _on_finished(self) -> None:
        running = self.running
        if running is None:
            return
        if running.finished_at_open and not running.scheduler.ledger.finish_times:
            return  # reopened finished, nothing new recorded: no toast, no second auto export
        snap = running.scheduler.snapshot()
        best = (
            f"best {snap.best_score:.4f} (trial {snap.best_trial})"
            if snap.best_trial is not None
            else "no trial scored"
        )
        self.notify(Notice("Search finished", f"{snap.done} scored, {snap.failed} failed; {best}"))
        spec = running.scheduler.spec
        if (
            spec.export.auto
            and snap.best_trial is not None
            and self.exported_for != snap.best_trial
        ):
            self.exported_for = snap.best_trial  # once per best model, not at every finish
            from console.attach.commands import start_export

            start_export(self, reason=", [export] auto")
