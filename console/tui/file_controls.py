"""The console's file actions: checkpoint now, save as, open another search, screenshot.

Paths are the console's: the checks and the saving happen where the search runs (an operator
attached from elsewhere names files on the console's machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from console.tui.screens.path_prompt import PathPrompt

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp


class FileControls:
    """File actions of ConsoleApp."""

    def action_save(self: ConsoleApp) -> None:
        self._send_soon("save")

    def action_save_as(self: ConsoleApp) -> None:
        if not self.mirror.ready:
            return

        async def check(path: Path) -> str | None:
            return await self.send_quietly("check_save_as", path=str(path))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._send_soon("save_as", path=str(path))

        self.push_screen(
            PathPrompt(
                "Save the search with its results as:", self.mirror.snapshot.checkpoint, check
            ),
            chosen,
        )

    def action_open(self: ConsoleApp) -> None:
        async def check(path: Path) -> str | None:
            return await self.send_quietly("check_open", path=str(path))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._send_soon("open", path=str(path))

        self.push_screen(PathPrompt("Open a search file or checkpoint:", "", check), chosen)

    async def send_quietly(self: ConsoleApp, name: str, **args: object) -> str | None:
        """A check's problem as text (shown in the dialog), or None when the path will do."""
        try:
            reply = await self.link.command(name, **args)
        except Exception as exc:
            return f"the console did not answer: {exc}"
        return None if reply.ok else (reply.message or "refused")

    def action_save_screenshot(self: ConsoleApp) -> None:
        if not self.mirror.ready:
            return
        snap = self.mirror.snapshot
        checkpoint = Path(snap.checkpoint)
        # Next to the checkpoint when the search runs here; attached, in the current folder.
        folder = checkpoint.parent if self.link.owns_search else Path.cwd()
        name = f"{checkpoint.stem}-screen-{int(snap.elapsed_s)}s.svg"
        path = self.save_screenshot(filename=name, path=str(folder))
        self.notify(f"screenshot saved to {path}")
        if self.link.owns_search:
            self._send_soon("note", text=f"screenshot saved to {path}")
