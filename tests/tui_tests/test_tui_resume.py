"""Reopening a search: elapsed time is search time kept across resumes, and a finished search
reopens as it was (no local nodes started, no second auto export, its "found at" kept)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.searchfile.toml_io import SavedState, load_search, save_search
from console.tui.widgets.best_panel import BestPanel
from console.tui.widgets.status_bar import StatusBar
from console.view.wording import format_duration
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, text_of, until

pytestmark = pytest.mark.timeout(120)

AUTO_EXPORT = '\n[export]\nbucket = "models"\nauto = true\n'


def _search(tmp_path: Path) -> Path:
    search = write_search(
        tmp_path, space='seconds = { type = "choice", values = [0.2, 0.21, 0.22] }'
    )
    search.write_text(search.read_text() + AUTO_EXPORT)
    return search


def test_elapsed_stops_at_finish_and_a_finished_search_reopens_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)  # auto export says "skipped": easy to spot
    checkpoint = tmp_path / "ck.toml"
    first = make_app(_search(tmp_path), checkpoint, local_nodes=1)

    async def run_first() -> float:
        async with first.run_test(size=SIZE) as pilot:
            scheduler = host_of(first).running.scheduler
            await until(pilot, lambda: scheduler.state == "finished", 30, "the search to finish")
            await until(pilot, lambda: "export skipped" in log_text(first), 5, "auto export")
            at_finish = scheduler.snapshot().elapsed_s
            await pilot.pause(1.1)  # a window in which a running clock would pass a second
            assert scheduler.snapshot().elapsed_s == at_finish  # the clock stopped at FINISHED
            return at_finish

    at_finish = asyncio.run(run_first())
    saved = load_search(checkpoint).state
    assert saved.elapsed_s == pytest.approx(at_finish, abs=0.01)
    assert saved.best_found is not None and saved.best_found[1] <= at_finish

    again = make_app(checkpoint, checkpoint, local_nodes=1)

    async def reopen() -> None:
        async with again.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "already finished" in log_text(again), 10, "started")
            await until(pilot, lambda: again.search_state == "finished", 10, "finished again")
            await pilot.pause(0.5)  # a window for an export or a node start to begin
            assert host_of(again).running.local.running() == []  # nothing to run: no local node
            assert "export skipped" not in log_text(again)  # not exported a second time
            snap = host_of(again).running.scheduler.snapshot()
            assert snap.elapsed_s == pytest.approx(at_finish, abs=0.01)  # not back to 0:00
            assert "found at" in text_of(again.query_one(BestPanel))
            shown = f"elapsed {format_duration(at_finish)}"
            assert shown in text_of(again.query_one(StatusBar))

    asyncio.run(reopen())


def test_a_checkpoint_from_before_elapsed_was_saved_still_opens(tmp_path: Path) -> None:
    checkpoint = tmp_path / "ck.toml"
    loaded = load_search(_search(tmp_path))
    state = SavedState("stopped", loaded.spec.config_hash(), "2026-01-01T00:00:00")
    save_search(checkpoint, loaded.spec, state)
    text = checkpoint.read_text()
    assert "elapsed_s = 0.0" in text
    checkpoint.write_text(text.replace("elapsed_s = 0.0\n", ""))  # as an older console wrote it
    state = load_search(checkpoint).state
    assert state.elapsed_s == 0.0 and state.best_found is None
