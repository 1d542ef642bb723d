"""The insight column on a real search: importance and score by value from 120 columns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.tui.widgets.importance_panel import ImportancePanel
from console.tui.widgets.param_view import ParamView
from tests.conftest import write_search
from tests.tui_tests.conftest import make_app, until

pytestmark = pytest.mark.timeout(120)

SPACE = (
    'max_depth = { type = "int", low = 1, high = 8 }\n'
    'criterion = { type = "choice", values = ["gini", "entropy"] }\n'
    'min_samples_split = { type = "int", low = 2, high = 20, log = true }'
)


def test_a_wide_console_ranks_the_parameters_and_cycles_score_by_value(tmp_path: Path) -> None:
    search = write_search(
        tmp_path, estimator="decision_tree", space=SPACE, strategy="random", max_trials=16
    )
    app = make_app(search, tmp_path / "runs" / "t.toml", local_nodes=2)

    async def scenario() -> None:
        async with app.run_test(size=(200, 50)) as pilot:
            assert app.search_screen.insight.display
            await until(pilot, lambda: app.search_state == "finished", 90, "search finished")
            await until(pilot, lambda: bool(app.mirror.importance.ranked), 20, "importances")
            ranked = app.mirror.importance.ranked
            assert {name for name, _ in ranked} <= {"max_depth", "criterion", "min_samples_split"}
            assert app.mirror.importance.over == 16
            await pilot.pause(0.3)
            shown = app.query_one(ImportancePanel).render().plain
            assert ranked[0][0] in shown and "PED-ANOVA over 16 scored trials" in shown
            view = app.query_one(ParamView)
            first = view.name_shown
            assert first == ranked[0][0]  # the most important one, until the operator picks
            assert len(view.points) == 16
            await pilot.press("v")
            await pilot.pause()
            assert view.name_shown != first
            assert f"Score by {view.name_shown}" in app.query_one("#param-box").border_title
            drawn = view.render().plain
            assert "◆" in drawn  # the best trial on the strip

    asyncio.run(scenario())


def test_at_80_columns_there_is_no_insight_column_and_v_does_nothing(tmp_path: Path) -> None:
    search = write_search(tmp_path, strategy="random", max_trials=2)
    app = make_app(search, tmp_path / "runs" / "t.toml")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.mirror.ready, 20, "the view")
            assert not app.search_screen.insight.display
            assert not app.search_screen.applies("next_param")
            before = app.search_screen.insight.chosen
            await pilot.press("v")
            assert app.search_screen.insight.chosen == before

    asyncio.run(scenario())


def test_a_terminal_resized_wider_shows_the_column_at_once_and_narrower_hides_it(
    tmp_path: Path,
) -> None:
    search = write_search(tmp_path, strategy="random", max_trials=2)
    app = make_app(search, tmp_path / "runs" / "t.toml")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.mirror.ready, 20, "the view")
            assert not app.search_screen.insight.display and app.screen.has_class("-short")
            # One resize, as tmux's resize-window sends: the layout is the new size's, not
            # the one before it.
            await pilot.resize_terminal(200, 50)
            assert app.screen.has_class("-wide") and app.screen.has_class("-tall")
            assert not app.screen.has_class("-short")
            await pilot.pause()
            assert app.search_screen.insight.display and app.search_screen.applies("next_param")
            await pilot.resize_terminal(80, 24)
            assert not app.screen.has_class("-wide") and app.screen.has_class("-short")
            await pilot.pause()
            assert not app.search_screen.insight.display

    asyncio.run(scenario())
