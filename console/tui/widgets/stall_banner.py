"""A banner under the status bar while work remains and no node can take it (never stall
silently): what is wrong, for how long, and what to do."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.view.models import STALL_REPORT_AFTER_S, Snapshot
from console.view.wording import format_duration


class StallBanner(Static):
    DEFAULT_CSS = """
    StallBanner { height: auto; padding: 0 1; background: $error; color: $text; display: none; }
    """

    def show(self, snap: Snapshot, connect_hint: str) -> None:
        stalled = snap.stall_reason is not None and snap.stalled_for_s >= STALL_REPORT_AFTER_S
        self.display = stalled
        if stalled:
            self.update(
                Text.assemble(
                    ("STALLED ", "bold"),
                    f"for {format_duration(snap.stalled_for_s)}: no node can take the work left "
                    f"({snap.stall_reason}). Start a node: {connect_hint}",
                    no_wrap=True,
                    overflow="ellipsis",
                )
            )
