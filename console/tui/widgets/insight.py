"""The insight column of a wide console: which parameters matter, and score against one of them.

Shown from 120 columns (the screen's `-wide` class). The importances come from the console
(models.Importance); the score-against-value strip is drawn here from the mirrored trials.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from console.tui.widgets.importance_panel import ImportancePanel
from console.tui.widgets.param_view import ParamView
from console.view.mirror import SearchMirror, ViewBatch


class InsightColumn(Vertical):
    DEFAULT_CSS = """
    InsightColumn { height: 1fr; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.importance_panel = ImportancePanel(id="importance")
        self.param_view = ParamView(id="param-view")
        self.chosen: str | None = None  # picked with `v`; else the most important one
        self._shown: str | None = None
        self._points: list[tuple[object, float]] = []
        self._counted: set[int] = set()  # trials whose score is in `_points`

    def compose(self) -> ComposeResult:
        with Vertical(id="importance-box", classes="panel"):
            yield self.importance_panel
        with Vertical(id="param-box", classes="panel"):
            yield self.param_view

    def on_mount(self) -> None:
        self.query_one("#importance-box").border_title = "Parameter importance"
        self.query_one("#param-box").border_title = "Score by value"

    def next_param(self, mirror: SearchMirror) -> str | None:
        """Show the next parameter (in the importance ranking, else the file's order)."""
        order = self._order(mirror)
        if not order:
            return None
        current = self._shown if self._shown in order else None
        self.chosen = order[(order.index(current) + 1) % len(order)] if current else order[0]
        self.show(mirror, ViewBatch(reset=True))
        return self.chosen

    def show(self, mirror: SearchMirror, batch: ViewBatch) -> None:
        if batch.reset or batch.importance:
            self.importance_panel.show(mirror.importance)
        name = self._param(mirror)
        if name != self._shown or batch.reset:
            self._shown, self._points, self._counted = name, [], set()
            self._count(mirror, mirror.trials)
        elif batch.dirty:
            self._count(mirror, batch.dirty)
        else:
            return
        info = mirror.info
        dimension = info.space.get(name, {}) if info and name else {}
        best = None
        if self._points and mirror.ready and mirror.snapshot.best_trial in mirror.trials:
            trial = mirror.trials[mirror.snapshot.best_trial]
            if name in trial.params and trial.score is not None:
                best = (trial.params[name], trial.score)
        self.param_view.show(name, dimension, self._points, best)
        box = self.query_one("#param-box")
        box.border_title = f"Score by {name} (v: next)" if name else "Score by value"

    def _count(self, mirror: SearchMirror, ids) -> None:
        name = self._shown
        for trial_id in ids:
            trial = mirror.trials.get(trial_id)
            if trial is None or trial_id in self._counted or trial.status != "ok":
                continue
            if name in trial.params and trial.score is not None:
                self._counted.add(trial_id)
                self._points.append((trial.params[name], trial.score))

    def _order(self, mirror: SearchMirror) -> list[str]:
        names = list(mirror.info.param_names) if mirror.info else []
        ranked = [n for n, _ in mirror.importance.ranked if n in names]
        return ranked + [n for n in names if n not in ranked]

    def _param(self, mirror: SearchMirror) -> str | None:
        order = self._order(mirror)
        if self.chosen in order:
            return self.chosen
        return order[0] if order else None
