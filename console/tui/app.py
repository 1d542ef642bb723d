"""The operator console: a Textual app over one search, fed only by view messages.

The app talks to the search through a link (console/attach): in this process (`InProcessLink`,
the console runs the search itself) or over the control socket (`RemoteLink`, attached to a
console elsewhere). Both hand it the same FullState and Update messages, which the link's mirror
keeps; the app redraws from the mirror ten times a second and sends every action as a command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.reactive import Reactive
from textual.screen import ModalScreen, Screen

from console.running_search import LaunchOptions
from console.searchfile.session import OpenedSearch
from console.tui.keys import APP_KEYS
from console.tui.link import ConsoleLink
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import key_names
from console.tui.search_screen import SearchScreen
from console.tui.widgets.colours import CONSOLE_ANSI
from console.view.mirror import SearchMirror

REFRESH_EVERY_S = 0.1  # coalesce: widgets change at most ten times a second
HANGUP_EXIT_AFTER_S = 20.0  # after SIGHUP: time for the checkpoint and the nodes' BYE

__all__ = ["ConsoleApp", "ConsoleLink"]


class ConsoleApp(App[int]):
    """The search screen over a link; owns the link's life, the signals and quitting."""

    CSS_PATH = "app.tcss"
    TITLE = "zmq-hpo"
    BINDINGS = APP_KEYS
    # ANSI colour names as they read (Textual's default makes yellow orange, red magenta).
    ansi_theme_dark = Reactive(CONSOLE_ANSI, init=False)

    def __init__(self, link: ConsoleLink) -> None:
        super().__init__()
        self.link = link
        self.link_failure: str | None = None  # the link could not start (attach refused)
        self.search_screen = SearchScreen(link)
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._sighup_before: Any = None  # the SIGHUP handler to put back on the way out

    @classmethod
    def running_here(
        cls,
        opened: OpenedSearch,
        options: LaunchOptions | None = None,
        *,
        clock: Callable[[], float] | None = None,
        control_bind: str | None = None,
    ) -> ConsoleApp:
        """The TUI over a search this process runs (tests freeze `clock` for stable screens)."""
        from console.attach.host import ConsoleHost
        from console.attach.inprocess import InProcessLink

        host = ConsoleHost(opened, options, clock=clock, control_bind=control_bind)
        return cls(InProcessLink(host))

    @property
    def mirror(self) -> SearchMirror:
        return self.link.mirror

    @property
    def search_state(self) -> str:
        return self.search_screen.search_state

    def get_default_screen(self) -> Screen:
        return self.search_screen

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: Textual's own, then every key of the search screen that applies now."""
        yield from super().get_system_commands(screen)
        view = self.search_screen
        for binding in view.offered_bindings(footer_only=False):
            yield SystemCommand(
                f"{view.label_of(binding)} ({key_names(binding)})",
                binding.tooltip,
                partial(view.run_action, binding.action),
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not isinstance(self.screen, ModalScreen)  # a dialog is open: only its own keys

    def on_mount(self) -> None:
        self.set_interval(REFRESH_EVERY_S, self.refresh_view)
        # SIGTERM (a service manager, kill) and SIGHUP (the SSH session dropped without tmux)
        # quit as `q` would, without asking: checkpoint, stop local nodes, exit 0 (attached:
        # detach, the search goes on).
        self._event_loop = asyncio.get_running_loop()
        self._event_loop.add_signal_handler(signal.SIGTERM, self._quit_confirmed, True)
        if threading.current_thread() is threading.main_thread():
            # A plain handler, not the loop's: it must run even if the loop is stuck writing to
            # a terminal that has gone.
            self._sighup_before = signal.signal(signal.SIGHUP, self._terminal_gone)
        self._start_link()

    def refresh_view(self) -> None:
        """Draw what changed (the timer's, about ten times a second)."""
        self.search_screen.refresh_view()

    def on_resize(self, event: events.Resize) -> None:
        # The event's size, not `self.size`: Textual updates that after this handler (it
        # debounces resizes), so it would lay out for the size before. The search screen's,
        # even while a dialog is on top of it.
        self.search_screen.fit(event.size)

    @work(exclusive=True, exit_on_error=False, group="link")
    async def _start_link(self) -> None:
        try:
            await self.link.start()
        except Exception as exc:  # an attach refused or timed out: say so, and leave
            self.link_failure = f"{exc}"
            self.exit(1)

    def _terminal_gone(self, _signum: int, _frame: object) -> None:
        """SIGHUP: the terminal has gone (an SSH session dropped without tmux).

        Nothing can be shown any more, and writes to the dead terminal can wedge Textual's
        output: send them to /dev/null, then checkpoint, stop the local nodes and exit as `q`
        would. A watchdog makes sure the process ends (and frees its port) even if Textual's
        own teardown hangs; the journal keeps every result either way.
        """
        with open(os.devnull, "r+b") as null:
            for fd in (0, 1, 2):
                os.dup2(null.fileno(), fd)
        watchdog = threading.Timer(HANGUP_EXIT_AFTER_S, os._exit, (0,))
        watchdog.daemon = True
        watchdog.start()
        self._event_loop.call_soon_threadsafe(self._quit_confirmed, True)

    async def on_unmount(self) -> None:
        """However the app ends (quit, a test's teardown): close the link (in-process, that
        checkpoints and stops the local nodes; attached, it only detaches)."""
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        if self._sighup_before is not None:
            signal.signal(signal.SIGHUP, self._sighup_before)
        await self.link.close()

    # -- quit ----------------------------------------------------------------------------------

    def action_quit(self) -> None:
        if not self.link.owns_search:  # attached: leave at once, the search goes on
            self._quit_confirmed(True)
            return
        checkpoint = self.mirror.snapshot.checkpoint if self.mirror.ready else "the checkpoint"
        self.push_screen(
            ConfirmScreen("Quit?", f"The search is checkpointed; reopen {checkpoint} to resume."),
            self._quit_confirmed,
        )

    @work(exclusive=True, group="quit")
    async def _quit_confirmed(self, yes: bool | None) -> None:
        if not yes:
            return
        if self.link.owns_search:
            self.notify("checkpointing and stopping local nodes...", timeout=30)
        await self.link.close()
        self.exit(0)

    def farewell(self) -> list[str]:
        """Lines for the terminal after the app has closed."""
        if self.link_failure:
            return [f"hpo-console: {self.link_failure}"]
        if not self.mirror.ready:
            return []
        snap = self.mirror.snapshot
        lines = [
            f"search {snap.name!r} {snap.state}: {snap.done} scored, {snap.failed} failed, "
            f"{snap.planned - snap.finished} not run"
        ]
        if snap.best_trial is not None:
            lines.append(
                f"best trial {snap.best_trial}: {snap.best_score:.4f} +- {snap.best_std:.4f}, "
                f"{snap.best_params}"
            )
        failure = self.mirror.host.failure
        if failure:
            lines.append(f"stopped on an error: {failure}")
        if self.link.owns_search:
            lines.append(
                f"checkpoint: {snap.checkpoint} (hpo-console {snap.checkpoint} resumes it)"
            )
        else:
            lines.append(f"detached; the search goes on (hpo-console attach {snap.checkpoint})")
        return lines
