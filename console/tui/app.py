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
from typing import Any, Protocol

from textual import events, work
from textual.app import App, ComposeResult
from textual.containers import Container, Vertical
from textual.reactive import Reactive

from console.local_nodes import connect_address
from console.running_search import LaunchOptions
from console.searchfile.session import OpenedSearch
from console.tui.controls import BINDINGS, Controls
from console.tui.file_controls import FileControls
from console.tui.widgets.best_panel import BestPanel
from console.tui.widgets.colours import CONSOLE_ANSI
from console.tui.widgets.event_log import EventLog
from console.tui.widgets.insight import InsightColumn
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.nodes_table import NodesTable
from console.tui.widgets.score_chart import ScoreChart
from console.tui.widgets.stall_banner import StallBanner
from console.tui.widgets.status_bar import StatusBar
from console.tui.widgets.trials_table import TrialsTable
from console.view.mirror import SearchMirror, ViewBatch
from console.view.models import Reply, TrialView

REFRESH_EVERY_S = 0.1  # coalesce: widgets change at most ten times a second
WIDE_FROM_COLUMNS = 120
TALL_FROM_ROWS = 40
SHORT_BELOW_ROWS = 30  # e.g. 80x24: the chart gives its rows to the trials table
HANGUP_EXIT_AFTER_S = 20.0  # after SIGHUP: time for the checkpoint and the nodes' BYE
CHART_TITLE = (
    "Scores: green bar a new best, blue the others, yellow line the best so far, ✕ failed, ▾ pruned"
)

__all__ = ["ConsoleApp", "ConsoleLink"]


class ConsoleLink(Protocol):
    """What the app needs of its channel to a console (console/attach: in-process or remote)."""

    mirror: SearchMirror
    owns_search: bool  # quitting the app stops the search (in-process) or only detaches
    problem: str | None  # the channel's trouble (the console went quiet), shown in the status

    async def start(self) -> None: ...

    async def command(self, name: str, **args: Any) -> Reply: ...

    async def close(self) -> None: ...


class ConsoleApp(Controls, FileControls, App[int]):
    """Shows the search its link mirrors and sends the operator's actions back through it."""

    CSS_PATH = "app.tcss"
    TITLE = "zmq-hpo"
    BINDINGS = BINDINGS
    # ANSI colour names as they read (Textual's default makes yellow orange, red magenta).
    ansi_theme_dark = Reactive(CONSOLE_ANSI, init=False)

    def __init__(self, link: ConsoleLink) -> None:
        super().__init__()
        self.link = link
        self.link_failure: str | None = None  # the link could not start (attach refused)
        # Held, not queried: a timer or key may fire while a dialog is the current screen.
        self.status_bar = StatusBar(id="status")
        self.stall_banner = StallBanner(id="stall-banner")
        self.nodes_table = NodesTable(id="nodes")
        self.best_panel = BestPanel(id="best")
        self.score_chart = ScoreChart(id="chart")
        self.trials_table = TrialsTable(id="trials")
        self.insight = InsightColumn(id="insight")
        self.event_log = EventLog(id="log")
        self.key_bar = KeyBar(id="keys")
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

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.status_bar
        yield self.stall_banner
        with Container(id="top-row"):
            with Vertical(id="nodes-box", classes="panel"):
                yield self.nodes_table
            with Vertical(id="best-box", classes="panel"):
                yield self.best_panel
        with Vertical(id="chart-box", classes="panel"):
            yield self.score_chart
        with Container(id="middle-row"):
            with Vertical(id="trials-box", classes="panel"):
                yield self.trials_table
            yield self.insight
        with Vertical(id="log-box", classes="panel"):
            yield self.event_log
        yield self.key_bar

    def on_mount(self) -> None:
        titles = {
            "#nodes-box": "Nodes",
            "#best-box": "Best model",
            "#chart-box": CHART_TITLE,
            "#trials-box": "Trials (newest first)",
            "#log-box": "Log",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
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

    def on_resize(self, event: events.Resize) -> None:
        # The event's size, not `self.size`: Textual updates that after this handler (it
        # debounces resizes), so it would lay out for the size before.
        size = event.size
        wide_before = self.screen.has_class("-wide")
        self.screen.set_class(size.width >= WIDE_FROM_COLUMNS, "-wide")
        if self.screen.has_class("-wide") and not wide_before and self.mirror.ready:
            self.insight.show(self.mirror, ViewBatch(reset=True))  # it skipped updates hidden
        self.screen.set_class(size.height >= TALL_FROM_ROWS, "-tall")
        self.screen.set_class(size.height < SHORT_BELOW_ROWS, "-short")

    # -- refresh (about ten times a second) ----------------------------------------------------

    def refresh_view(self) -> None:
        mirror = self.mirror
        if not mirror.ready:
            return
        batch = mirror.take()
        snap, host = mirror.snapshot, mirror.host
        if batch.reset:
            self._redraw()
        trouble = "error" if host.failure else None
        self.status_bar.show(snap, trouble, self.link.problem)
        self.stall_banner.show(snap, f"hpo-node --connect {connect_address(snap.endpoint)}")
        self.nodes_table.show(snap.nodes)
        best = self.best_panel
        best.export = host.exported
        if batch.new_best:
            best.announce()
        best.show(snap, mirror.info.metric if mirror.info else "score")
        if not batch.reset:
            self.score_chart.record(_by_finish(mirror.trials[i] for i in batch.dirty))
        with self.batch_update():
            self.trials_table.apply(mirror.trials, batch.dirty, mirror.now)
        if self.insight.display:
            self.insight.show(mirror, batch)
        self.event_log.add(batch.log, batch.log_overflow)
        self._show_notices(batch)
        self.key_bar.show(self.offered_keys())
        self._keep_toasts_above_keys()
        if batch.state is not None:
            self.refresh_bindings()

    def _redraw(self) -> None:
        """A FullState arrived (first attach, a resync, or another search): draw it anew."""
        mirror = self.mirror
        info = mirror.info
        assert info is not None
        attached = "" if self.link.owns_search else "  (attached)"
        self.sub_title = f"{mirror.snapshot.checkpoint}{attached}"
        trials = self.trials_table
        trials.folds_total = info.cv
        trials.max_attempts = info.max_attempts
        trials.param_names = info.param_names
        trials.fit_params()
        trials.rebuild(mirror.trials, mirror.now)
        self.score_chart.clear()
        self.score_chart.record(_by_finish(mirror.trials.values()))
        self.insight.show(mirror, ViewBatch(reset=True))
        self.nodes_table.reset()

    def _show_notices(self, batch: ViewBatch) -> None:
        for notice in batch.notices:
            self.notify(
                notice.text,
                title=notice.title,
                severity=notice.severity,  # type: ignore[arg-type]
                timeout=notice.timeout,
            )

    def _keep_toasts_above_keys(self) -> None:
        """Toasts sit just above the key bar (one line or two), never over it."""
        height = self.key_bar.outer_size.height
        for screen in self.screen_stack:
            for rack in screen.query("ToastRack"):  # Textual's own widget, by its CSS type
                if rack.styles.margin.bottom != height:
                    rack.styles.margin = (0, 0, height, 0)

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


def _by_finish(trials: Iterable[TrialView]) -> list[TrialView]:
    """Final trials in the order they finished (those of an older run, without a time, first).

    The same order for a batch of updates as for a whole FullState (attach, resync), so an
    attached operator's chart is the local one's. Ties within a second go by trial id."""
    final = [t for t in trials if t.is_final]
    return sorted(final, key=lambda t: (t.finished_at or "", t.id))
