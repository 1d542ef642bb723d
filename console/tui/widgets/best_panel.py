"""The best model so far: score +- std, its params, trial, node, and when it was found."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.tui.widgets.params_cell import format_params
from console.view.models import Snapshot
from console.view.wording import format_duration

__all__ = ["BestPanel", "format_params"]


class BestPanel(Static):
    """Shows the best trial; `announce()` flashes it when a new best arrives."""

    DEFAULT_CSS = """
    BestPanel { height: auto; padding: 0 1; }
    BestPanel.-new-best { background: $success 30%; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.export: tuple[int, str] | None = None  # (trial id, object URL) last exported

    def show(self, snap: Snapshot, metric: str) -> None:
        if snap.best_trial is None:
            self.update(Text(f"no trial scored yet ({metric})", style="dim"))
            return
        # Search time, saved with the checkpoint: a resumed search still says when.
        when = (
            f", found at {format_duration(snap.best_found_s)}"
            if snap.best_found_s is not None
            else ""
        )
        text = Text.assemble(
            (f"{snap.best_score:.4f}", "bold green"),
            f" +- {snap.best_std:.4f} {metric}",
            f"   trial {snap.best_trial} on {snap.best_node}{when}\n",
            (format_params(snap.best_params or {}), "bold"),
        )
        if self.export is not None and self.export[0] == snap.best_trial:
            text.append(f"\nexported: {self.export[1]}", style="cyan")
        self.update(text)

    def exported(self, trial_id: int, url: str) -> None:
        self.export = (trial_id, url)

    def announce(self) -> None:
        """A new best arrived: flash."""
        self.add_class("-new-best")
        self.set_timer(1.5, lambda: self.remove_class("-new-best"))
