"""The widgets on their own, in a bare Textual app: the trials table's cursor, tries, folds and
params; the log's wrapping and scrolling; the chart with more trials than columns; the status
lines at 80 columns; the colours in 16-colour mode."""

from __future__ import annotations

import asyncio

import pytest
from rich.color import Color, ColorSystem
from textual.app import App, ComposeResult
from textual.widget import Widget

from console.records import TrialStatus
from console.scheduler.ledger import Ledger
from console.scheduler.trial import Trial
from console.tui.app import ConsoleApp
from console.tui.widgets.colours import CONSOLE_ANSI
from console.tui.widgets.event_log import EventLog
from console.tui.widgets.params_cell import elide_pairs
from console.tui.widgets.score_chart import BLOCKS, ScoreChart, columns_of
from console.tui.widgets.status_bar import StatusBar
from console.tui.widgets.trials_table import TrialsTable
from console.view.feed import trial_view
from console.view.models import LogLine, NodeView, Snapshot, TrialView
from tests.tui_tests.conftest import table_rows

pytestmark = pytest.mark.timeout(60)

PARAMS = {"n_estimators": 157, "max_depth": None, "min_samples_split": 3, "max_features": "sqrt"}


class One(App[None]):
    """A bare app around one widget, with the console's colours."""

    ansi_theme_dark = ConsoleApp.ansi_theme_dark

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def _ledger(count: int, max_attempts: int = 2) -> Ledger:
    ledger = Ledger(max_attempts, n_folds=5)
    for trial_id in range(count):
        ledger.add(Trial(id=trial_id, params=dict(PARAMS), attempts=1))
    return ledger


def _views(ledger: Ledger) -> dict[int, TrialView]:
    """The trials as the console sends them to the TUI."""
    return {i: trial_view(trial, ledger.max_attempts) for i, trial in ledger.trials.items()}


def _table(ledger: Ledger) -> TrialsTable:
    table = TrialsTable()
    table.folds_total, table.max_attempts = 5, ledger.max_attempts
    table.param_names = tuple(PARAMS)
    return table


def test_the_cursor_stays_on_its_trial_as_newer_rows_come_in_above() -> None:
    ledger = _ledger(5)
    table = _table(ledger)

    async def scenario() -> None:
        async with One(table).run_test(size=(120, 20)) as pilot:
            table.apply(_views(ledger), set(ledger.trials), 0.0)
            table.focus()
            await pilot.press("down", "down")
            assert table.selected_trial == 2  # newest first: 4, 3, 2
            for trial_id in (5, 6, 7):
                ledger.add(Trial(id=trial_id, params=dict(PARAMS), attempts=1))
                table.apply(_views(ledger), {trial_id}, 0.0)
                await pilot.pause()
            assert [row[0] for row in table_rows(table)][:3] == ["7", "6", "5"]
            assert table.selected_trial == 2
            await pilot.press(*["up"] * 5)  # back on the top row: it follows the newest again
            assert table.selected_trial == 7
            ledger.add(Trial(id=8, params=dict(PARAMS), attempts=1))
            table.apply(_views(ledger), {8}, 0.0)
            await pilot.pause()
            assert table.selected_trial == 8 and table.cursor_row == 0

    asyncio.run(scenario())


def test_tries_count_what_is_charged_and_folds_always_read_k_of_n() -> None:
    ledger = _ledger(4, max_attempts=2)
    stopped_often, crashed_once, crashed_out, scored = (ledger.trials[i] for i in range(4))
    stopped_often.attempts = 3  # dispatched three times: twice stopped by the operator
    stopped_often.by_fold = {1: 0.9, 2: 0.8}  # and two folds in before the last stop
    crashed_once.failures, crashed_once.attempts = 1, 2
    crashed_out.status, crashed_out.failures, crashed_out.attempts = TrialStatus.FAILED, 2, 2
    scored.status, scored.score = TrialStatus.OK, 0.9
    scored.by_fold = dict.fromkeys(range(1, 6), 0.9)
    table = _table(ledger)

    async def scenario() -> None:
        async with One(table).run_test(size=(120, 20)) as pilot:
            table.apply(_views(ledger), set(ledger.trials), 0.0)
            await pilot.pause()
            rows = {row[0]: row for row in table_rows(table)}
            assert rows["0"][1] == "pending" and rows["0"][3] == "2/5"  # not a bare "2"
            assert rows["0"][6] == "1/2"  # operator stops are not tries: not "3" of 2
            assert rows["1"][6] == "2/2"
            assert rows["2"][6] == "2/2"
            assert rows["3"][3] == "5/5"

    asyncio.run(scenario())


def test_params_are_elided_whole_never_cut_mid_value() -> None:
    pairs = ("n_estimators=157", "max_depth=None", "min_samples_split=3", "max_features=sqrt")
    assert elide_pairs(pairs, 200) == ", ".join(pairs)
    assert elide_pairs(pairs, 40) == "n_estimators=157, max_depth=None …+2"
    for width in range(1, 80):
        shown = elide_pairs(pairs, width)
        assert len(shown) <= width
        assert "n_estimators=15 " not in shown and not shown.startswith("n_estimators=15,")
        assert "=15" not in shown.replace("=157", "")  # 157 is never shown as 15
    ledger = _ledger(1)
    table = _table(ledger)

    async def scenario(width: int) -> str:
        async with One(table).run_test(size=(width, 10)) as pilot:
            table.apply(_views(ledger), {0}, 0.0)
            await pilot.pause()
            return table.columns["params"].label.plain  # type: ignore[index]

    # At 80 columns the params column is too narrow for a pair: values, named in the header.
    assert asyncio.run(scenario(80)).startswith("n_estimator")
    table = _table(ledger)
    assert asyncio.run(scenario(200)) == "params"


def test_wrapped_log_lines_stay_under_their_text_and_scrolling_up_stays_put() -> None:
    log = EventLog()
    command = "hpo-console pull s3://models/digits-forest/trial-4/model.joblib --to ./model.joblib"

    async def scenario() -> None:
        async with One(log).run_test(size=(60, 8)) as pilot:
            log.add([LogLine(1.0, f"export: fetch it with: {command}", "info")])
            await pilot.pause()
            first, *rest = [strip.text for strip in log.lines]
            assert first.startswith("   0:01 export:")
            assert rest and all(line.startswith(" " * 8) for line in rest)  # a hanging indent
            for n in range(30):
                log.add([LogLine(2.0, f"line {n}", "info")])
            await pilot.pause()
            log.focus()
            await pilot.press("home")
            assert log.scroll_y == 0
            log.add([LogLine(3.0, "a new line", "info")])
            await pilot.pause()
            assert log.scroll_y == 0  # the operator reading back keeps their place
            await pilot.press("end")
            log.add([LogLine(4.0, "another", "info")])
            await pilot.pause()
            assert log.scroll_y == log.max_scroll_y  # at the bottom it follows again

    asyncio.run(scenario())


def test_with_more_trials_than_columns_the_best_bar_stays_on_the_chart() -> None:
    scores = [0.5 + (i % 7) / 100 for i in range(500)]
    scores[10] = 0.99  # the best, long before the last 60 trials
    shown = columns_of([("ok", s) for s in scores], 53)
    assert len(shown) == 53 and max(c.top for c in shown if c.top is not None) == 0.99
    chart = ScoreChart()

    async def scenario() -> None:
        async with One(chart).run_test(size=(60, 3)) as pilot:
            chart.record([TrialView(i, "ok", {}, score=s) for i, s in enumerate(scores)])
            await pilot.pause()
            top_row = chart.render().plain.splitlines()[0]
            assert top_row.startswith("0.9900") and BLOCKS[-1] in top_row

    asyncio.run(scenario())


def _snapshot(**changes) -> Snapshot:
    fields = {
        "name": "digits-forest-with-a-rather-long-name",
        "strategy": "random",
        "state": "running",
        "planned": 5000,
        "done": 1234,
        "failed": 12,
        "running": 16,
        "pending": 3738,
        "rate_per_s": 12.5,
        "eta_s": 299.0,
        "elapsed_s": 3723.0,
        "best_trial": 4,
        "best_score": 0.9738,
        "best_std": 0.01,
        "best_params": {},
        "best_node": "n1",
        "nodes": (NodeView("n1", "h", "busy", 8, 8, 600, 6, 0.0),),
        "dropped_messages": 0,
        "checkpoint": "runs/digits-forest-with-a-rather-long-name.toml",
        "endpoint": "tcp://127.0.0.1:5555",
        "link": "",
        "refused_connections": 0,
        "pruned": 7,
    }
    return Snapshot(**(fields | changes))


def test_the_status_lines_wrap_between_items_and_keep_every_item_at_80_columns() -> None:
    bar = StatusBar()
    bar.show(_snapshot(pruned=0))
    lines = [line.plain for line in bar.lines(78)]
    assert all(len(line) <= 78 for line in lines)
    assert lines[0].startswith("digits-forest-… · random · RUNNING  █")  # the name gives way
    assert lines[0].endswith(" 1246/5000 (12 failed)  16 running")
    assert len(lines) == 3
    text = "\n".join(lines)
    for item in ("elapsed 1:02:03", "ETA 4:59", "best 0.9738", "tcp://127.0.0.1:5555"):
        assert item in text
    assert "saves to runs/digits-forest-with-a-rather-long-name.toml" in text
    assert lines[1].startswith("elapsed ")  # the timing line is never pushed off by line one
    wide = [line.plain for line in bar.lines(198)]
    assert len(wide) == 2 and "saves to" in wide[1]
    bar.show(_snapshot())  # with pruned trials too the counts go on a line of their own
    lines = [line.plain for line in bar.lines(78)]
    assert lines[1].startswith("█") and lines[1].endswith("(7 pruned)  16 running")
    assert lines[2].startswith("elapsed ")


@pytest.mark.parametrize(
    ("name", "index"), [("red", 1), ("green", 2), ("yellow", 3), ("blue", 4), ("magenta", 5)]
)
def test_each_colour_stays_itself_in_16_and_256_colours(name: str, index: int) -> None:
    """Textual's default theme makes yellow orange (16 colours: bright red) and red magenta."""
    assert ConsoleApp.ansi_theme_dark._default is CONSOLE_ANSI  # type: ignore[attr-defined]
    rgb = Color.parse(name).get_truecolor(CONSOLE_ANSI)
    assert Color.from_triplet(rgb).downgrade(ColorSystem.STANDARD).number in (index, index + 8)
