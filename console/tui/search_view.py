"""The search on one screen: its widgets, their layout for the terminal's size, and the redraw.

`SearchView` draws what the link's mirror holds, about ten times a second (the app's timer calls
`refresh_view`); it sends nothing. The keys and actions are `SearchScreen`'s
(console/tui/search_screen.py), built on this.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.geometry import Size
from textual.screen import Screen

from console.local_nodes import connect_address
from console.tui.link import ConsoleLink
from console.tui.widgets.best_panel import BestPanel
from console.tui.widgets.event_log import EventLog
from console.tui.widgets.insight import InsightColumn
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.nodes_table import NodesTable
from console.tui.widgets.score_chart import ScoreChart
from console.tui.widgets.stall_banner import StallBanner
from console.tui.widgets.status_bar import StatusBar
from console.tui.widgets.trials_table import TrialsTable
from console.view.mirror import SearchMirror, ViewBatch
from console.view.models import TrialView

WIDE_FROM_COLUMNS = 120
TALL_FROM_ROWS = 40
SHORT_BELOW_ROWS = 30  # e.g. 80x24: the chart gives its rows to the trials table
CHART_TITLE = (
    "Scores: green bar a new best, blue the others, yellow line the best so far, ✕ failed, ▾ pruned"
)


class SearchView(Screen):
    """Shows the search its link mirrors."""

    def __init__(self, link: ConsoleLink) -> None:
        super().__init__()
        self.link = link
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

    @property
    def mirror(self) -> SearchMirror:
        return self.link.mirror

    @property
    def search_state(self) -> str:
        mirror = self.mirror
        if not mirror.ready:
            return "starting"
        return "error" if mirror.host.failure else mirror.snapshot.state

    def offered_keys(self) -> list[tuple[str, str]]:
        """(key, label) for the key bar: what the keys built on this view offer now."""
        return []

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

    def fit(self, size: Size) -> None:
        """Lay out for a terminal of `size`: wide (the insight column), tall, short."""
        wide_before = self.has_class("-wide")
        self.set_class(size.width >= WIDE_FROM_COLUMNS, "-wide")
        if self.has_class("-wide") and not wide_before and self.mirror.ready:
            self.insight.show(self.mirror, ViewBatch(reset=True))  # it skipped updates hidden
        self.set_class(size.height >= TALL_FROM_ROWS, "-tall")
        self.set_class(size.height < SHORT_BELOW_ROWS, "-short")

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
            self.score_chart.record(by_finish(mirror.trials[i] for i in batch.dirty))
        with self.app.batch_update():
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
        self.app.sub_title = f"{mirror.snapshot.checkpoint}{attached}"
        trials = self.trials_table
        trials.folds_total = info.cv
        trials.max_attempts = info.max_attempts
        trials.param_names = info.param_names
        trials.fit_params()
        trials.rebuild(mirror.trials, mirror.now)
        self.score_chart.clear()
        self.score_chart.record(by_finish(mirror.trials.values()))
        self.insight.show(mirror, ViewBatch(reset=True))
        self.nodes_table.reset()

    def _show_notices(self, batch: ViewBatch) -> None:
        for notice in batch.notices:
            self.app.notify(
                notice.text,
                title=notice.title,
                severity=notice.severity,  # type: ignore[arg-type]
                timeout=notice.timeout,
            )

    def _keep_toasts_above_keys(self) -> None:
        """Toasts sit just above the key bar (one line or two), never over it."""
        height = self.key_bar.outer_size.height
        for screen in self.app.screen_stack:
            for rack in screen.query("ToastRack"):  # Textual's own widget, by its CSS type
                if rack.styles.margin.bottom != height:
                    rack.styles.margin = (0, 0, height, 0)


def by_finish(trials: Iterable[TrialView]) -> list[TrialView]:
    """Final trials in the order they finished (those of an older run, without a time, first).

    The same order for a batch of updates as for a whole FullState (attach, resync), so an
    attached operator's chart is the local one's. Ties within a second go by trial id."""
    final = [t for t in trials if t.is_final]
    return sorted(final, key=lambda t: (t.finished_at or "", t.id))
