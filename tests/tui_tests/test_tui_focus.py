"""Keys act on what has the focus, the log says each thing once, and a console with no local
nodes says how to start one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.tui.widgets.event_log import EventLog
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, until

pytestmark = pytest.mark.timeout(120)

SLOW = 'seconds = { type = "choice", values = [0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36] }'


def test_node_keys_ignore_the_nodes_cursor_unless_the_nodes_table_has_the_focus(
    tmp_path: Path,
) -> None:
    app = make_app(write_search(tmp_path, space=SLOW), tmp_path / "ck.toml", local_nodes=2)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(
                pilot, lambda: app.search_screen.nodes_table.row_count == 2, 30, "both nodes shown"
            )
            app.search_screen.nodes_table.move_cursor(
                row=app.search_screen.nodes_table.get_row_index("local-1")
            )
            app.search_screen.trials_table.focus()
            await pilot.press("d")
            assert not any(node.draining for node in scheduler.nodes.by_id.values())
            await pilot.press("k")  # not the nodes table's local-1: the newest, local-2
            await until(
                pilot, lambda: host_of(app).running.local.running() == ["local-1"], 20, "stop"
            )
            assert "stopping local node local-2" in log_text(app)
            app.search_screen.nodes_table.focus()
            await pilot.press("d")
            assert scheduler.nodes.get("local-1").draining

    asyncio.run(scenario())


def test_pause_is_logged_once_and_no_local_nodes_says_how_to_start_one(tmp_path: Path) -> None:
    app = make_app(write_search(tmp_path, space=SLOW), tmp_path / "ck.toml", local_nodes=0)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            endpoint = lambda: host_of(app).running.scheduler.endpoint  # noqa: E731
            await until(pilot, lambda: "no local nodes" in log_text(app), 10, "the hint")
            port = endpoint().rsplit(":", 1)[1]
            assert (
                f"start one with n, or on any machine: hpo-node --connect tcp://127.0.0.1:{port}"
                in log_text(app)
            )
            await pilot.press("p")
            await until(pilot, lambda: "search paused" in log_text(app), 5, "paused logged")
            await pilot.pause(0.3)  # the refreshes after it
            assert log_text(app).count("paused") == 1  # not "search paused" and "paused: ..."
            # The log takes the focus from the keyboard (Tab) and shows it has it.
            await pilot.press("tab", "tab")
            assert isinstance(app.focused, EventLog)
            assert app.query_one("#log-box").has_pseudo_class("focus-within")

    asyncio.run(scenario())
