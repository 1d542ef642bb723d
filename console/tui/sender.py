"""The operator's commands to the console, through the link; a refusal becomes a toast."""

from __future__ import annotations

from textual.widget import Widget

from console.tui.link import ConsoleLink
from console.view.models import Reply


class CommandSender:
    """Sends commands for `node` (a screen: its toasts and workers) over `link`."""

    def __init__(self, node: Widget, link: ConsoleLink) -> None:
        self.node = node
        self.link = link

    async def send(self, name: str, **args: object) -> Reply | None:
        """One command to the console; a refusal is a warning toast. None: the link failed."""
        try:
            reply = await self.link.command(name, **args)
        except Exception as exc:  # the console went away mid-command
            self.node.notify(f"{name}: {exc}", title="Console", severity="error", timeout=10)
            return None
        if not reply.ok and reply.message:
            severity = "error" if reply.title else "warning"
            self.node.notify(reply.message, title=reply.title, severity=severity, timeout=15)
        return reply

    def send_soon(self, name: str, **args: object) -> None:
        """Send without waiting: the view shows the outcome when the console's state changes."""
        self.node.run_worker(self.send(name, **args), group="commands", exit_on_error=False)

    async def problem_with(self, name: str, **args: object) -> str | None:
        """A check's problem as text (shown in a dialog), or None when the console agrees."""
        try:
            reply = await self.link.command(name, **args)
        except Exception as exc:
            return f"the console did not answer: {exc}"
        return None if reply.ok else (reply.message or "refused")
