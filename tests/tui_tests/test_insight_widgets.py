"""The insight drawings as plain functions: the score chart's marks, score by value, importance."""

from __future__ import annotations

import asyncio
import math

from console.tui.widgets.importance_panel import bar, importance_lines
from console.tui.widgets.param_view import BEST, strip, x_axis, x_slot
from console.tui.widgets.score_chart import FAILED_MARK, PRUNED_MARK, ScoreChart, columns_of
from console.view.codec import from_data, to_data
from console.view.models import Importance, TrialView
from tests.tui_tests.test_tui_widgets import One


def test_columns_mark_failed_and_pruned_and_keep_the_best_so_far() -> None:
    entries = [("failed", None), ("ok", 0.5), ("pruned", None), ("ok", 0.7), ("ok", 0.6)]
    shown = columns_of(entries, 10)
    assert [c.top for c in shown] == [None, 0.5, None, 0.7, 0.6]
    assert [c.best for c in shown] == [None, 0.5, 0.5, 0.7, 0.7]
    assert [c.new_best for c in shown] == [False, True, False, True, False]
    assert [(c.failed, c.pruned) for c in shown] == [(1, 0), (0, 0), (0, 1), (0, 0), (0, 0)]
    squeezed = columns_of(entries, 2)  # two runs of trials: the marks survive the squeeze
    assert squeezed[0].failed == 1 and squeezed[1].pruned == 1 and squeezed[1].top == 0.7


def test_the_chart_draws_the_marks_on_its_bottom_lane_once_per_trial_and_status() -> None:
    chart = ScoreChart()
    trials = [
        TrialView(id=0, status="ok", params={}, score=0.9),
        TrialView(id=1, status="failed", params={}),
        TrialView(id=2, status="pruned", params={}),
        TrialView(id=3, status="running", params={}),  # not final: not charted
    ]

    async def scenario() -> None:
        async with One(chart).run_test(size=(40, 4)) as pilot:
            chart.record(trials)
            chart.record(trials)  # a trial seen again in a later batch counts once
            assert chart.entries == [("ok", 0.9), ("failed", None), ("pruned", None)]
            chart.record([TrialView(id=1, status="ok", params={}, score=0.95)])  # retried
            assert len(chart.entries) == 4
            await pilot.pause()
            drawn = chart.render().plain.splitlines()
            lane = drawn[-1]
            assert lane.replace(" ", "") == f"{FAILED_MARK}{PRUNED_MARK}"
            # Four trials on 33 columns: each trial gets four cells, so the chart spans them.
            assert lane.index(PRUNED_MARK) - lane.index(FAILED_MARK) == 4
            assert len(drawn[0].rstrip()) > 7 + 12

    asyncio.run(scenario())


def test_values_land_on_a_log_scale_and_choices_in_their_own_slots() -> None:
    log_range = {"type": "float", "low": 0.001, "high": 1000.0, "log": True}
    assert x_slot(log_range, 1.0, 60) == 30  # the middle of 1e-3..1e3 on a log scale
    linear = {"type": "int", "low": 0, "high": 100}
    assert x_slot(linear, 25, 100) == 25 and x_slot(linear, 100, 100) == 99
    assert x_slot(linear, 101, 100) is None and x_slot(linear, "x", 100) is None
    choice = {"type": "choice", "values": ["gini", "entropy", "None"]}
    slots = [x_slot(choice, v, 30) for v in ("gini", "entropy", None)]
    assert slots == [5, 15, 25] and x_slot(choice, "log_loss", 30) is None
    assert "gini" in x_axis(choice, 30) and "entropy" in x_axis(choice, 30)
    assert x_axis(log_range, 40).startswith("0.001") and x_axis(log_range, 40).endswith("1000")
    assert "log" in x_axis(log_range, 40)


def test_the_strip_puts_the_best_on_top_and_weighs_crowded_cells() -> None:
    dim = {"type": "int", "low": 0, "high": 9}
    points = [(0, 0.1)] * 5 + [(5, 0.5), (9, 0.9)]
    rows = strip(dim, points, best=(9, 0.9), columns=10, rows=3)
    assert rows[0][9] == BEST  # the best score is the top row
    assert rows[2][0] == "●"  # five trials in one cell
    assert rows[1][5] == "·"
    assert strip(dim, [], None, 10, 3) == [" " * 10] * 3


def test_importance_lines_rank_scale_and_say_how_many_more() -> None:
    imp = Importance(
        ranked=(("max_depth", 0.6), ("n_estimators", 0.3), ("criterion", 0.1)), over=40
    )
    lines = importance_lines(imp, width=40, rows=2)
    assert [name.strip() for name, _, _ in lines] == ["max_depth", "+2 more"]
    full = importance_lines(imp, width=40, rows=5)
    assert full[0][1].strip() == bar(1.0, len(full[0][1]))  # the top one fills its bar
    assert full[0][2].strip() == "60%" and full[2][2].strip() == "10%"
    assert len(full[1][1].rstrip()) < len(full[0][1].rstrip())
    assert bar(0.5, 4) == "██" and bar(0.0, 4) == "" and math.isclose(len(bar(1.0, 7)), 7)


def test_importance_travels_through_the_codec() -> None:
    imp = Importance(ranked=(("a", 0.75), ("b", 0.25)), over=12, note="")
    assert from_data(Importance, to_data(imp)) == imp
