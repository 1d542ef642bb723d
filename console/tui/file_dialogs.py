"""The console's file actions: checkpoint now, save as, open another search, screenshot.

Paths are the console's: the checks and the saving happen where the search runs (an operator
attached from elsewhere names files on the console's machine).
"""

from __future__ import annotations

from pathlib import Path

from textual.screen import Screen

from console.tui.screens.path_prompt import PathPrompt
from console.tui.sender import CommandSender
from console.view.mirror import SearchMirror


class FileDialogs:
    """File actions for `screen`, sent by `sender` (about the search its link mirrors)."""

    def __init__(self, screen: Screen, sender: CommandSender) -> None:
        self.screen = screen
        self.sender = sender

    @property
    def mirror(self) -> SearchMirror:
        return self.sender.link.mirror

    @property
    def owns_search(self) -> bool:
        return self.sender.link.owns_search

    def save(self) -> None:
        self.sender.send_soon("save")

    def save_as(self) -> None:
        if not self.mirror.ready:
            return

        async def check(path: Path) -> str | None:
            return await self.sender.problem_with("check_save_as", path=str(path))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.sender.send_soon("save_as", path=str(path))

        checkpoint = self.mirror.snapshot.checkpoint
        prompt = PathPrompt("Save the search with its results as:", checkpoint, check)
        self.screen.app.push_screen(prompt, chosen)

    def open(self) -> None:
        async def check(path: Path) -> str | None:
            return await self.sender.problem_with("check_open", path=str(path))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.sender.send_soon("open", path=str(path))

        prompt = PathPrompt("Open a search file or checkpoint:", "", check)
        self.screen.app.push_screen(prompt, chosen)

    def screenshot(self) -> None:
        if not self.mirror.ready:
            return
        snap = self.mirror.snapshot
        checkpoint = Path(snap.checkpoint)
        # Next to the checkpoint when the search runs here; attached, in the current folder.
        folder = checkpoint.parent if self.owns_search else Path.cwd()
        name = f"{checkpoint.stem}-screen-{int(snap.elapsed_s)}s.svg"
        path = self.screen.app.save_screenshot(filename=name, path=str(folder))
        self.screen.notify(f"screenshot saved to {path}")
        if self.owns_search:
            self.sender.send_soon("note", text=f"screenshot saved to {path}")
