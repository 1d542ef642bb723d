"""The operator console: a Textual app over one running search (composes and forwards)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Container, Vertical
from textual.reactive import Reactive

from console.local_nodes import connect_address
from console.running_search import LAUNCH_ERRORS, LaunchOptions, RunningSearch
from console.scheduler.ledger import Ledger
from console.searchfile.session import OpenedSearch
from console.tui.controls import BINDINGS, Controls
from console.tui.exporting import Exporting
from console.tui.file_controls import FileControls
from console.tui.widgets.best_panel import BestPanel
from console.tui.widgets.colours import CONSOLE_ANSI
from console.tui.widgets.event_log import EventLog
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.nodes_table import NodesTable
from console.tui.widgets.score_chart import ScoreChart
from console.tui.widgets.stall_banner import StallBanner
from console.tui.widgets.status_bar import StatusBar
from console.tui.widgets.trials_table import TrialsTable
from console.view_updates import PendingUpdates

REFRESH_EVERY_S = 0.1  # coalesce: widgets change at most ten times a second
WIDE_FROM_COLUMNS = 120
TALL_FROM_ROWS = 40
SHORT_BELOW_ROWS = 30  # e.g. 80x24: the chart gives its rows to the trials table
HANGUP_EXIT_AFTER_S = 20.0  # after SIGHUP: time for the checkpoint and the nodes' BYE
CHART_TITLE = "Scores: green bar a new best, blue the others, yellow line the best so far"

__all__ = ["ConsoleApp", "LaunchOptions"]


def finished_scores(ledger: Ledger) -> list[float]:
    """Scores of a resumed search's finished trials, in the order they finished."""
    scored = [t for t in ledger.trials.values() if t.score is not None]
    scored.sort(key=lambda t: (t.finished_at or "", t.id))
    return [t.score for t in scored]  # type: ignore[misc]


class ConsoleApp(Controls, FileControls, Exporting, App[int]):
    """Runs the scheduler as an async worker in Textual's own event loop and shows it live."""

    CSS_PATH = "app.tcss"
    TITLE = "zmq-hpo"
    BINDINGS = BINDINGS
    # ANSI colour names as they read (Textual's default makes yellow orange, red magenta).
    ansi_theme_dark = Reactive(CONSOLE_ANSI, init=False)

    def __init__(
        self,
        opened: OpenedSearch,
        options: LaunchOptions | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.opened = opened
        self.options = options or LaunchOptions()
        self.clock = clock  # None: real time; tests freeze it for stable screenshots
        self.running: RunningSearch | None = None
        self.updates = PendingUpdates()
        self.failure: str | None = None  # why the scheduler stopped on an error, if it did
        self.exported_for: int | None = None  # the best trial [export] auto last exported
        # Held, not queried: a timer or key may fire while a dialog is the current screen.
        self.status_bar = StatusBar(id="status")
        self.stall_banner = StallBanner(id="stall-banner")
        self.nodes_table = NodesTable(id="nodes")
        self.best_panel = BestPanel(id="best")
        self.score_chart = ScoreChart(id="chart")
        self.trials_table = TrialsTable(id="trials")
        self.event_log = EventLog(id="log")
        self.key_bar = KeyBar(id="keys")
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._sighup_before: Any = None  # the SIGHUP handler to put back on the way out

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
        with Vertical(id="trials-box", classes="panel"):
            yield self.trials_table
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
        # quit as `q` would, without asking: checkpoint, stop local nodes, exit 0.
        self._event_loop = asyncio.get_running_loop()
        self._event_loop.add_signal_handler(signal.SIGTERM, self._quit_confirmed, True)
        if threading.current_thread() is threading.main_thread():
            # A plain handler, not the loop's: it must run even if the loop is stuck writing to
            # a terminal that has gone.
            self._sighup_before = signal.signal(signal.SIGHUP, self._terminal_gone)
        self.launch(self.opened)

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
        """However the app ends (quit, a test's teardown), checkpoint and stop local nodes."""
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        if self._sighup_before is not None:
            signal.signal(signal.SIGHUP, self._sighup_before)
        if self.running is not None:
            await self.running.shutdown()

    def on_resize(self) -> None:
        self.screen.set_class(self.size.width >= WIDE_FROM_COLUMNS, "-wide")
        self.screen.set_class(self.size.height >= TALL_FROM_ROWS, "-tall")
        self.screen.set_class(self.size.height < SHORT_BELOW_ROWS, "-short")

    # -- running a search ----------------------------------------------------------------------

    def launch(self, opened: OpenedSearch) -> None:
        """Show and run `opened` (any previous search must already be shut down)."""
        self.opened = opened
        self.failure = None
        self.exported_for = None
        self.updates = PendingUpdates()
        self.running = RunningSearch(opened, self.options, self.updates.add, clock=self.clock)
        self.sub_title = str(opened.checkpoint)
        trials = self.trials_table
        trials.folds_total = opened.spec.cv
        trials.max_attempts = opened.spec.max_attempts
        trials.param_names = tuple(opened.spec.space)
        trials.fit_params()
        trials.rebuild(self.running.scheduler.ledger, self.running.scheduler.clock())
        self.score_chart.clear()
        self.score_chart.add(finished_scores(self.running.scheduler.ledger))
        self.nodes_table.reset()
        self.best_panel.export = None
        if opened.note:
            self.say(opened.note)
        self._run_search(self.running)

    @work(exclusive=True, exit_on_error=False, group="search")
    async def _run_search(self, running: RunningSearch) -> None:
        try:
            await running.start()
        except LAUNCH_ERRORS as exc:
            self._failed(running, str(exc))
            await running.shutdown()
            return
        if running.warning:
            self.say(running.warning, "warning")
            self.notify(running.warning, title="Node link", severity="warning", timeout=15)
        for line in running.started_lines():
            self.say(line)
        hint = running.no_node_hint()  # with keys to press: the TUI's own (headless has its own)
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
        self.updates.log(
            running.scheduler.clock(), f"search stopped on an error: {message}", "error"
        )
        self.notify(message, title="Search stopped", severity="error", timeout=15)
        self.refresh_bindings()

    def say(self, text: str, severity: str = "info") -> None:
        """A line in the log panel (shown at the next refresh)."""
        if self.running is not None:
            self.updates.log(self.running.scheduler.clock(), text, severity)

    # -- refresh (about ten times a second) ----------------------------------------------------

    def refresh_view(self) -> None:
        if self.running is None:
            return
        scheduler = self.running.scheduler
        batch = self.updates.take()
        snap = scheduler.snapshot()
        self.status_bar.show(snap, "error" if self.failure else None)
        self.stall_banner.show(snap, f"hpo-node --connect {connect_address(snap.endpoint)}")
        self.nodes_table.show(snap.nodes)
        best = self.best_panel
        if batch.new_best is not None:
            best.announce()
        best.show(snap, scheduler.spec.metric)
        self.score_chart.add(batch.scores)
        with self.batch_update():
            self.trials_table.apply(scheduler.ledger, batch.dirty_trials, scheduler.clock())
        self.event_log.add(batch.log, scheduler.elapsed, batch.log_overflow)
        for node_id in batch.quarantined:
            self.notify(
                f"node {node_id} was at fault three times in a row: it gets no more trials. "
                "Select it and press d to release it.",
                title="Node quarantined",
                severity="warning",
                timeout=15,
            )
        for message in batch.errors:
            self.notify(message, title="Scheduler error", severity="error", timeout=10)
        self.key_bar.show(self.offered_keys())
        self._keep_toasts_above_keys()
        if batch.state is not None:
            self.refresh_bindings()
            self.on_search_state(batch.state)

    def _keep_toasts_above_keys(self) -> None:
        """Toasts sit just above the key bar (one line or two), never over it."""
        height = self.key_bar.outer_size.height
        for screen in self.screen_stack:
            for rack in screen.query("ToastRack"):  # Textual's own widget, by its CSS type
                if rack.styles.margin.bottom != height:
                    rack.styles.margin = (0, 0, height, 0)

    def farewell(self) -> list[str]:
        """Lines for the terminal after the app has closed."""
        if self.running is None:
            return []
        snap = self.running.scheduler.snapshot()
        lines = [
            f"search {snap.name!r} {snap.state}: {snap.done} scored, {snap.failed} failed, "
            f"{snap.planned - snap.finished} not run"
        ]
        if snap.best_trial is not None:
            lines.append(
                f"best trial {snap.best_trial}: {snap.best_score:.4f} +- {snap.best_std:.4f}, "
                f"{snap.best_params}"
            )
        if self.failure:
            lines.append(f"stopped on an error: {self.failure}")
        lines.append(f"checkpoint: {snap.checkpoint} (hpo-console {snap.checkpoint} resumes it)")
        return lines
