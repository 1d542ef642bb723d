"""Save-as and open through the dialogs: files round-trip, and bad files are refused in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static

from console.searchfile.toml_io import load_search
from console.tui.screens.path_prompt import PathPrompt
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, text_of, until


async def type_path(pilot, path: str) -> None:
    """Fill the path field and press Enter (pressing each key of a long tmp path is slow)."""
    field = pilot.app.screen.query_one("#path")
    field.value = path[:-1]
    field.cursor_position = len(field.value)
    await pilot.press(path[-1], "enter")


def test_save_as_then_open_round_trips_the_search(tmp_path: Path) -> None:
    search = write_search(
        tmp_path,
        space='C = { type = "choice", values = [0.1, 1.0, 10.0] }',
        estimator="logistic_regression",
    )
    other = write_search(tmp_path, name="other")
    saved_as = tmp_path / "copy.toml"
    app = make_app(search, tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            first = host_of(app).running.scheduler
            await until(pilot, lambda: first.state == "finished", 30, "the search to finish")
            await pilot.press("a")
            assert isinstance(app.screen, PathPrompt)
            await type_path(pilot, str(tmp_path / "no-such-folder" / "x.toml"))
            assert "does not exist" in text_of(app.screen.query_one("#error", Static))
            await type_path(pilot, str(other))  # a different search: never overwritten
            assert "not a checkpoint of this search" in text_of(
                app.screen.query_one("#error", Static)
            ) or "different search" in text_of(app.screen.query_one("#error", Static))
            await type_path(pilot, str(saved_as))
            assert not isinstance(app.screen, PathPrompt)
            assert first.checkpointer.path == saved_as
            copy = load_search(saved_as)
            assert [r["score"] for r in copy.state.trials] == [
                first.ledger.trials[i].score for i in range(3)
            ]

            await pilot.press("o")
            await type_path(pilot, str(tmp_path / "missing.toml"))
            assert "missing.toml" in text_of(app.screen.query_one("#error", Static))
            await pilot.press("escape")
            await pilot.press("o")
            await type_path(pilot, str(saved_as))
            await until(pilot, lambda: host_of(app).running.scheduler is not first, 10, "reopened")
            reopened = host_of(app).running.scheduler
            assert reopened.checkpointer.path == saved_as
            assert reopened.ledger.done == 3
            await until(pilot, lambda: reopened.state == "finished", 10, "nothing left to run")
            await until(pilot, lambda: "3 already finished" in log_text(app), 5, "resume note")
            # The last line of the search left behind is shown too, before the next's.
            text = log_text(app)
            assert text.index("checkpointing and stopping this search") < text.index(
                "3 already finished"
            )

    asyncio.run(scenario())


def test_the_path_field_completes_from_the_disk(tmp_path: Path, monkeypatch) -> None:
    search = write_search(tmp_path, name="alpha")
    (tmp_path / "alpha.logs").mkdir()
    monkeypatch.chdir(tmp_path)
    app = make_app(search, tmp_path / "ck.toml")

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("o", "a", "l")
            field = app.screen.query_one("#path")
            await until(pilot, lambda: field._suggestion == "alpha.toml", 5, "a suggestion")
            await pilot.press("right")  # accepts it
            assert field.value == "alpha.toml"  # the file, before the folder of the same stem

    asyncio.run(scenario())


def test_open_an_edited_search_file_extends_its_finished_search(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the open dialog finds the checkpoint at runs/NAME.toml
    space = 'seconds = { type = "choice", values = [0.0] }'
    search = write_search(tmp_path, name="grow", strategy="random", max_trials=2, space=space)
    app = make_app(search, tmp_path / "runs" / "grow.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            first = host_of(app).running.scheduler
            await until(pilot, lambda: first.state == "finished", 30, "the search to finish")
            scores = [first.ledger.trials[i].score for i in range(2)]
            write_search(tmp_path, name="grow", strategy="random", max_trials=4, space=space)
            await pilot.press("o")
            await type_path(pilot, str(search))
            await until(pilot, lambda: host_of(app).running.scheduler is not first, 10, "reopened")
            grown = host_of(app).running.scheduler
            await until(pilot, lambda: grown.state == "finished", 30, "the new trials")
            assert grown.ledger.done == 4 and grown.planned == 4
            assert [grown.ledger.trials[i].score for i in range(2)] == scores
            note = "extending: max_trials 2 -> 4, keeping 2 finished trials"
            await until(pilot, lambda: note in log_text(app), 5, "the extend note")

    asyncio.run(scenario())


def notes_titled(app, title: str) -> list:
    return [note for note in app._notifications if note.title == title]


def test_opening_a_search_that_fails_its_pre_flight_keeps_the_current_one(
    tmp_path: Path, monkeypatch
) -> None:
    from tests.console_tests.test_cli import write_csv_search_without_its_target

    monkeypatch.chdir(tmp_path)  # the open dialog would write (were it let) to runs/NAME.toml

    bad = write_csv_search_without_its_target(tmp_path)
    search = write_search(tmp_path, space='seconds = { type = "choice", values = [0.0, 0.01] }')
    app = make_app(search, tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            first = host_of(app).running.scheduler
            await pilot.press("o")
            await type_path(pilot, str(bad))
            failed = "Pre-flight check failed"
            # The pre-flight loads the data and fits a sample in a thread: slow on a busy machine.
            try:
                await until(pilot, lambda: notes_titled(app, failed), 60, "the pre-flight note")
            except AssertionError as exc:
                shown = [(n.title, n.message[:200]) for n in app._notifications]
                if isinstance(app.screen, PathPrompt):
                    shown.append(("prompt", text_of(app.screen.query_one("#error", Static))))
                raise AssertionError(f"{exc}; shown: {shown}") from None
            (note,) = notes_titled(app, failed)
            assert "target column 'kind' is missing" in note.message
            assert host_of(app).running.scheduler is first  # still the same search, still running
            await until(pilot, lambda: first.state == "finished", 30, "the first search to end")
            assert not (tmp_path / "runs").exists()  # nothing was written for the bad one

    asyncio.run(scenario())
