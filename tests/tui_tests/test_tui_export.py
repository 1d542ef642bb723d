"""Export from the console against a real S3 server: `[export] auto`, the `e` key, no config."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import write_search
from tests.store_tests.conftest import DECISION_TREE_SPACE, add_export, object_keys
from tests.tui_tests.conftest import SIZE, log_text, make_app, until


def tree_search(folder: Path, bucket: str, auto: bool) -> Path:
    search = write_search(folder, estimator="decision_tree", space=DECISION_TREE_SPACE)
    return add_export(search, bucket, auto=auto)


@pytest.mark.timeout(120)
def test_auto_export_when_finished_then_e_finds_it_already_there(
    tmp_path: Path, store_env, bucket: str
) -> None:
    app = make_app(tree_search(tmp_path, bucket, auto=True), tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.search_state == "finished", 60, "the search")
            await until(pilot, lambda: "best.json updated" in log_text(app), 60, "auto export")
            await until(
                pilot, lambda: not app.mirror.host.exporting, 10, "the export process to end"
            )
            await pilot.pause(0.2)  # a refresh
            best = app.search_screen.best_panel.render().plain
            assert f"exported: s3://{bucket}/t/trial-" in best
            await pilot.press("e")
            await until(pilot, lambda: "nothing to refit" in log_text(app), 60, "re-export")

    asyncio.run(scenario())
    keys = object_keys(store_env, bucket)
    assert "t/best.json" in keys
    assert len([k for k in keys if k.endswith(".skops")]) == 1  # the re-export added nothing


def test_export_without_a_store_says_how_to_configure_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIO_ENDPOINT", raising=False)
    app = make_app(tree_search(tmp_path, "models", auto=False), tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.search_state == "finished", 60, "the search")
            await pilot.press("e")
            await until(pilot, lambda: "export skipped" in log_text(app), 10, "the refusal")
            assert "MINIO_ENDPOINT" in log_text(app)
            assert app.search_state == "finished"

    asyncio.run(scenario())
