"""One row per trial, updated in place as results stream in; newest first or best first.

Only the top `MAX_ROWS` rows of the current order are in the widget: a 10,000-trial search stays
fast, and the full history is still in the scheduler's ledger (and the checkpoint).
"""

from __future__ import annotations

import heapq

from rich.text import Text
from textual.widgets import DataTable

from console.headless import format_duration
from console.scheduler.ledger import FAILED, OK, PENDING, PRUNED, RUNNING, Ledger, Trial
from console.widgets.best_panel import format_params
from console.widgets.keyed_rows import KeyedRows

MAX_ROWS = 300
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
        self.keyed = KeyedRows(self, COLUMNS)
        self._rank: dict[int, tuple] = {}  # shown trial id -> its sort key in the current order

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name, width in COLUMN_WIDTHS.items():
            self.add_column(name, key=name, width=width)

    def toggle_order(self, ledger: Ledger, now: float) -> str:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        self.rebuild(ledger, now)
        return self.order

    def rebuild(self, ledger: Ledger, now: float) -> None:
        self.keyed.clear()
        self._rank.clear()
        self.apply(ledger, set(ledger.trials), now)

    def apply(self, ledger: Ledger, changed: set[int], now: float) -> None:
        added = False
        for trial in self._worth_showing(ledger, changed):
            rank = self._rank_of(trial)
            added |= rank != self._rank.get(trial.id)
            self._rank[trial.id] = rank
            self.keyed.put(str(trial.id), _cells(trial, now, self.folds_total))
        self._tick_running(ledger, changed, now)
        if added:
            self._trim_and_sort()

    def _worth_showing(self, ledger: Ledger, changed: set[int]) -> list[Trial]:
        """The changed trials that are shown already or may make the top rows.

        A burst (or a rebuild over a big ledger) must not add thousands of rows only to trim them.
        """
        fresh = [ledger.trials[i] for i in changed if i in ledger.trials]
        fresh = [trial for trial in fresh if _ever_started(trial)]
        if len(fresh) <= MAX_ROWS:
            return fresh
        best = heapq.nsmallest(MAX_ROWS, fresh, key=self._rank_of)
        chosen = {trial.id for trial in best}
        return best + [t for t in fresh if t.id in self._rank and t.id not in chosen]

    def _tick_running(self, ledger: Ledger, changed: set[int], now: float) -> None:
        """Running trials' elapsed time moves even when no event arrives."""
        for trial_id in self._rank:
            trial = ledger.trials.get(trial_id)
            if trial is not None and trial.status == RUNNING and trial_id not in changed:
                self.keyed.set_cell(str(trial_id), "time", format_duration(now - trial.started_at))

    def _rank_of(self, trial: Trial) -> tuple:
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
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value)  # type: ignore[arg-type]


def _ever_started(trial: Trial) -> bool:
    return trial.attempts > 0 or trial.is_final


def _cells(trial: Trial, now: float, folds_total: int) -> tuple:
    status = trial.status
    if status == RUNNING:
        folds = f"{trial.folds_done}/{folds_total}"
        if trial.fold_scores:  # the running mean so far, marked as provisional
            mean = sum(trial.fold_scores) / len(trial.fold_scores)
            folds += f" ~{mean:.3f}"
        score, time = "", format_duration(now - trial.started_at)
    elif status == OK:
        folds = str(len(trial.fold_scores)) if trial.fold_scores else ""
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
        trial.attempts,
        format_params(trial.params),
    )
