"""One row per trial, updated in place as results stream in; newest first or best first.

Only the top `MAX_ROWS` rows of the current order are in the widget: a 10,000-trial search stays
fast, and the full history is still in the view's mirror (and the checkpoint).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

from console.tui.widgets.keyed_rows import KeyedRows
from console.tui.widgets.params_cell import ParamsCell, ParamsLayout
from console.view.models import TrialView
from console.view.wording import format_duration

MAX_ROWS = 300
PAIRS_FROM_WIDTH = 30  # a narrower params column shows values only, named in its header
# Fixed widths: cells are updated in place, so they must not depend on the first row's content.
COLUMN_WIDTHS = {
    "id": 5,
    "state": 7,
    "score": 6,
    "folds": 11,
    "time": 6,
    "node": 10,
    "tries": 5,
    "params": None,
}
COLUMNS = tuple(COLUMN_WIDTHS)
# A trial's status as the view carries it (console.records.TrialStatus's values).
OK, FAILED, RUNNING, PENDING, PRUNED = "ok", "failed", "running", "pending", "pruned"
Trials = Mapping[int, TrialView]
STATUS_STYLES = {
    OK: "green", FAILED: "bold red", RUNNING: "yellow", PENDING: "dim", PRUNED: "magenta",
}  # fmt: skip
# "failed" puts failed trials on top: in a big search they would otherwise be past the row cap.
ORDERS = ("newest", "best", "failed")


class TrialsTable(DataTable):
    """Keyed by trial id. `apply()` takes the ids that changed since the last refresh."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = "newest"
        self.folds_total = 0  # the search's cv, for "3/5" fold progress
        self.max_attempts = 3  # the search's max_attempts, for "1/3" tries
        self.param_names: tuple[str, ...] = ()  # the search's [space], in order, for the header
        self.params_layout = ParamsLayout()
        self.keyed = KeyedRows(self, COLUMNS)
        self._rank: dict[int, tuple] = {}  # shown trial id -> its sort key in the current order

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name, width in COLUMN_WIDTHS.items():
            self.add_column(name, key=name, width=width)
        self.fit_params()

    def on_resize(self) -> None:
        self.fit_params()

    def fit_params(self) -> None:
        """The params column takes the width the others leave, so its cells elide whole
        pairs at the edge (ParamsCell) instead of being cut mid-value by the table."""
        column = self.columns.get("params")  # type: ignore[call-overload]
        if column is None:
            return
        fixed = sum(width or 0 for width in COLUMN_WIDTHS.values())
        padding = 2 * self.cell_padding * len(COLUMN_WIDTHS)
        # Leave room for the vertical scrollbar, which comes and goes with the row count.
        room = self.size.width - fixed - padding - self.styles.scrollbar_size_vertical
        width = max(8, room)
        values_only = width < PAIRS_FROM_WIDTH and bool(self.param_names)
        # The header names what the values are, cut like a label (the detail has them whole).
        label = Text(", ".join(self.param_names) if values_only else "params")
        label.truncate(width, overflow="ellipsis")
        if column.auto_width or column.width != width or column.label.plain != label.plain:
            column.width, column.auto_width = width, False
            column.label = label
            self.params_layout.values_only = values_only
            self._require_update_dimensions = True  # the table's own flag for a new width
            self._clear_caches()  # rows drawn for the old layout
            self.refresh()

    def toggle_order(self, trials: Trials, now: float) -> str:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        self.rebuild(trials, now)
        return self.order

    def rebuild(self, trials: Trials, now: float) -> None:
        self.keyed.clear()
        self._rank.clear()
        self.apply(trials, set(trials), now)

    def apply(self, trials: Trials, changed: set[int], now: float) -> None:
        added = False
        selected = self.selected_trial
        # A cursor on the top row follows the top (the newest, or the best): an operator who has
        # not moved it is watching what comes in. Moved down, it stays on its trial.
        following_top = self.cursor_row <= 0
        for trial in self._worth_showing(trials, changed):
            rank = self._rank_of(trial)
            added |= rank != self._rank.get(trial.id)
            self._rank[trial.id] = rank
            cells = _cells(trial, now, self.folds_total, self.max_attempts, self.params_layout)
            self.keyed.put(str(trial.id), cells)
        self._tick_running(trials, changed, now)
        if added:
            self._trim_and_sort()
            self._keep_selected(None if following_top else selected)

    def _keep_selected(self, trial_id: int | None) -> None:
        """The cursor stays on the trial it was on while rows come in above it (newest first
        inserts at the top), rather than on a row number that now holds another trial."""
        key = str(trial_id)
        if trial_id is None or key not in self.keyed.shown:
            if self.row_count and self.cursor_row != 0:
                self.move_cursor(row=0, scroll=True)
            return
        row = self.get_row_index(key)
        if row != self.cursor_row:
            self.move_cursor(row=row, scroll=False)

    def _worth_showing(self, trials: Trials, changed: set[int]) -> list[TrialView]:
        """The changed trials that are shown already or may make the top rows.

        A burst (or a rebuild over a big ledger) must not add thousands of rows only to trim them.
        """
        fresh = [trials[i] for i in changed if i in trials]
        fresh = [trial for trial in fresh if trial.ever_started]
        if len(fresh) <= MAX_ROWS:
            return fresh
        best = heapq.nsmallest(MAX_ROWS, fresh, key=self._rank_of)
        chosen = {trial.id for trial in best}
        return best + [t for t in fresh if t.id in self._rank and t.id not in chosen]

    def _tick_running(self, trials: Trials, changed: set[int], now: float) -> None:
        """Running trials' elapsed time moves even when no event arrives."""
        for trial_id in self._rank:
            trial = trials.get(trial_id)
            if trial is not None and trial.status == RUNNING and trial_id not in changed:
                self.keyed.set_cell(str(trial_id), "time", format_duration(now - trial.started_at))

    def _rank_of(self, trial: TrialView) -> tuple:
        if self.order == "best":
            score = trial.score if trial.status == OK else float("-inf")
            return (-score, trial.id)  # type: ignore[operator]
        if self.order == "failed":
            return (trial.status != FAILED, -trial.id)
        return (-trial.id,)

    def _trim_and_sort(self) -> None:
        order = sorted(self._rank, key=self._rank.__getitem__)
        dropped = order[MAX_ROWS:]
        if len(dropped) > MAX_ROWS // 4:
            # Many rows fall out at once (a burst of results): each remove_row re-indexes the
            # whole table, so redrawing the rows that stay is much cheaper.
            kept = [(str(i), self.keyed.shown[str(i)]) for i in order[:MAX_ROWS]]
            self.keyed.clear()
            for key, cells in kept:
                self.keyed.put(key, cells)
        else:
            for trial_id in dropped:
                self.keyed.remove(str(trial_id))
        for trial_id in dropped:
            del self._rank[trial_id]
        self.sort("id", key=lambda trial_id: self._rank[trial_id])

    @property
    def selected_trial(self) -> int | None:
        if not self.row_count or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value)  # type: ignore[arg-type]


def _cells(
    trial: TrialView, now: float, folds_total: int, max_attempts: int, layout: ParamsLayout
) -> tuple:
    status = trial.status
    if status == RUNNING:
        folds = f"{trial.folds_done}/{folds_total}"
        if trial.fold_scores:  # the running mean so far, marked as provisional
            mean = sum(trial.fold_scores) / len(trial.fold_scores)
            folds += f" ~{mean:.3f}"
        score, time = "", format_duration(now - trial.started_at)
    elif status == OK:
        folds = f"{trial.folds_done}/{folds_total}" if trial.fold_scores else ""
        score = f"{trial.score:.4f}" if trial.score is not None else ""
        time = f"{trial.duration_s:.1f}s" if trial.duration_s is not None else ""
    else:  # pending, failed or pruned: how far it got, and a pruned trial's partial mean
        folds = f"{trial.folds_done}/{folds_total}" if trial.fold_scores else ""
        partial = trial.running_mean if status == PRUNED else None
        score = f"~{partial:.4f}" if partial is not None else ""
        time = f"{trial.duration_s:.1f}s" if trial.duration_s is not None else ""
    return (
        trial.id,
        Text(status, style=STATUS_STYLES.get(status, "")),
        score,
        folds,
        time,
        trial.node or "",
        f"{trial.tries}/{max_attempts}",
        ParamsCell.of(trial.params, layout),
    )
