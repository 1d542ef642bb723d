"""The console's file actions: checkpoint now, save as, open another search, screenshot."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from console.searchfile.session import CheckpointConflict, open_search
from console.searchfile.toml_io import SearchFileError, load_search
from console.tui.screens.path_prompt import PathPrompt

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp


class FileControls:
    """File actions of ConsoleApp."""

    def action_save(self: ConsoleApp) -> None:
        if self.running is None:
            return
        path = self.running.scheduler.save()
        self.updates.note_checkpoint_logged(self.running.scheduler.clock())
        self.say(f"saved to {path}")

    def action_save_as(self: ConsoleApp) -> None:
        if self.running is None:
            return
        scheduler = self.running.scheduler

        def check(path: Path) -> str | None:
            return _save_as_problem(path, scheduler.search_hash)

        def chosen(path: Path | None) -> None:
            if path is None or self.running is None:
                return
            try:
                saved = self.running.scheduler.save(path)
            except OSError as exc:
                self.notify(f"could not save to {path}: {exc}", severity="error")
                return
            self.sub_title = str(saved)
            self.say(f"saved to {saved}; checkpoints go there from now on")

        self.push_screen(
            PathPrompt(
                "Save the search with its results as:", str(scheduler.checkpointer.path), check
            ),
            chosen,
        )

    def action_open(self: ConsoleApp) -> None:
        self.push_screen(
            PathPrompt("Open a search file or checkpoint:", "", _open_problem), self._open_chosen
        )

    @work(exclusive=True, group="switch")
    async def _open_chosen(self: ConsoleApp, path: Path | None) -> None:
        if path is not None:
            await self._switch_to(path)

    async def _switch_to(self: ConsoleApp, path: Path) -> None:
        """Checkpoint and stop the current search, then run the one at `path`."""
        try:
            opened = open_search(path)
        except (SearchFileError, CheckpointConflict) as exc:
            self.notify(str(exc), title=f"Cannot open {path}", severity="error", timeout=15)
            return
        from console.searchfile.preflight import check

        # The same pre-flight as at start-up: a search that would burn its trials never starts.
        report = await asyncio.to_thread(check, opened.spec)
        if report.errors:
            lines = "\n".join(f"{path}: {error}" for error in report.errors)
            self.notify(lines, title="Pre-flight check failed", severity="error", timeout=20)
            return
        if self.running is not None:
            self.say("checkpointing and stopping this search...")
            await self.running.shutdown()
            # Read it again: when `path` resumes or extends the search just stopped, its last
            # results are in the checkpoint only now (if it fails now, what was read before
            # the stop is still a consistent start).
            with contextlib.suppress(SearchFileError, CheckpointConflict):
                opened = open_search(path)
        self.launch(opened)

    def action_save_screenshot(self: ConsoleApp) -> None:
        if self.running is None:
            return
        checkpoint = self.running.opened.checkpoint
        stamp = self.running.scheduler.snapshot().elapsed_s
        name = f"{checkpoint.stem}-screen-{int(stamp)}s.svg"
        path = self.save_screenshot(filename=name, path=str(checkpoint.parent))
        self.say(f"screenshot saved to {path}")


def _open_problem(path: Path) -> str | None:
    try:
        open_search(path)
    except (SearchFileError, CheckpointConflict) as exc:
        return str(exc)
    return None


def _save_as_problem(path: Path, search_hash: str) -> str | None:
    if path.is_dir():
        return f"{path} is a folder; give a file name"
    if path.exists():
        try:
            existing = load_search(path)
        except SearchFileError:
            return f"{path} exists and is not a checkpoint of this search; choose another name"
        if existing.state is None or existing.state.config_hash != search_hash:
            return f"{path} holds a different search; choose another name"
    elif not path.parent.exists():
        return f"folder {path.parent} does not exist"
    return None
