"""Errors are shown and logged; the console stays up and the search state is kept."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import zmq

from console.scheduler.search_core import Output, SearchCore
from console.searchfile.toml_io import load_search
from console.tui.screens.help import HelpScreen
from console.tui.widgets.stall_banner import StallBanner
from console.tui.widgets.status_bar import StatusBar
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, text_of, until


def test_a_busy_port_is_shown_and_the_app_stays_up(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app = make_app(write_search(tmp_path), tmp_path / "ck.toml", bind=f"tcp://127.0.0.1:{port}")

        async def scenario() -> None:
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: app.search_state == "error", 10, "the bind error")
                await until(
                    pilot, lambda: "ERROR" in text_of(app.query_one(StatusBar)), 5, "ERROR shown"
                )
                assert f"{port}" in log_text(app) and "in use" in log_text(app)
                await pilot.press("question_mark")  # still answering keys
                assert isinstance(app.screen, HelpScreen)

        asyncio.run(scenario())


def test_a_crash_inside_the_scheduler_is_shown_and_the_ledger_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [0.0, 0.01] }')
    checkpoint = tmp_path / "ck.toml"
    real_tick = SearchCore.tick
    crashes = []

    def crash_once_after_results(self: SearchCore, now: float) -> Output:
        if self.ledger.done == 2 and not crashes:
            crashes.append(1)
            raise RuntimeError("boom in housekeeping")
        return real_tick(self, now)

    monkeypatch.setattr(SearchCore, "tick", crash_once_after_results)
    app = make_app(search, checkpoint, local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.search_state == "error", 30, "the crash")
            await until(pilot, lambda: "boom in housekeeping" in log_text(app), 5, "logged")
            # The log line comes from the scheduler's own error event, a refresh before the
            # status line hears the run has ended: wait for it rather than race it.
            await until(
                pilot, lambda: "ERROR" in text_of(app.query_one(StatusBar)), 5, "ERROR shown"
            )
            saved = load_search(checkpoint).state
            assert [row["status"] for row in saved.trials] == ["ok", "ok"]
            await pilot.press("r")  # reopen the checkpoint: the search carries on
            await until(pilot, lambda: app.search_state == "finished", 30, "finished after all")

    asyncio.run(scenario())


def test_a_malformed_message_is_logged_with_its_peer(tmp_path: Path) -> None:
    app = make_app(write_search(tmp_path), tmp_path / "ck.toml")

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: bool(scheduler.endpoint), 10, "the console listening")
            ctx = zmq.Context.instance()
            hostile = ctx.socket(zmq.DEALER)
            hostile.connect(scheduler.endpoint)
            hostile.send_multipart([b"HPO1", b"RESULT", b"{not json"])
            try:
                await until(pilot, lambda: "dropped a bad message" in log_text(app), 10, "drop")
            finally:
                hostile.close(linger=0)
            assert "127.0.0.1" in log_text(app)
            assert app.search_state == "running"

    asyncio.run(scenario())


def test_a_search_no_node_can_take_shows_a_stall_banner(tmp_path: Path) -> None:
    """No node joins: after a few seconds a banner says the search is stalled and why."""
    app = make_app(write_search(tmp_path), tmp_path / "ck.toml", local_nodes=0)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            banner = app.query_one(StallBanner)
            assert not banner.display
            await until(pilot, lambda: banner.display, 20, "the stall banner")
            shown = text_of(banner)
            assert "STALLED" in shown and "no node has joined" in shown
            assert "hpo-node --connect tcp://127.0.0.1:" in shown
            await until(pilot, lambda: "stalled: no node can take" in log_text(app), 5, "logged")

    asyncio.run(scenario())
