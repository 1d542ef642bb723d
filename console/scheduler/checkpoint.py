"""Saving and restoring a search's state: TOML checkpoint plus the result journal."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from console.scheduler.journal import Journal, journal_path_for
from console.scheduler.ledger import OK, Ledger, Trial
from console.search.base import Strategy, make_strategy
from console.searchfile import SavedState, SearchSpec, save_search

CHECKPOINT_EVERY_S = 2.0  # results are already durable in the journal; this bounds replay work
# A big search's checkpoint takes a while to write (10,000 trials: ~0.35 s) and blocks the loop;
# spacing checkpoints at least this many save-durations apart caps that at ~5% of the time.
SAVE_COST_FACTOR = 20


class Checkpointer:
    """Journals each final outcome at once and rewrites the TOML checkpoint every few seconds."""

    def __init__(self, spec: SearchSpec, path: Path, ledger: Ledger) -> None:
        self.spec = spec
        self.path = path
        self.ledger = ledger
        self._journal = Journal(journal_path_for(path))
        self._hash = spec.config_hash()
        self._dirty = True  # the first checkpoint is written as soon as the search starts
        self._last_save = float("-inf")
        self._interval = CHECKPOINT_EVERY_S

    def journal(self, trial: Trial) -> None:
        """Queue a final outcome for the journal; `flush_journal()` before ACKing it."""
        self._journal.append({"search": self._hash, **trial.to_row()})
        self._dirty = True

    def flush_journal(self) -> None:
        """Hand appended outcomes to the OS: from here a killed console cannot lose them."""
        self._journal.flush()

    def mark_dirty(self) -> None:
        self._dirty = True

    def due(self, now: float) -> bool:
        if self._dirty and now - self._last_save >= self._interval:
            self._last_save = now
            return True
        return False

    def save(self, status: str) -> None:
        started = time.perf_counter()
        saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        rows = [trial.to_row() for trial in self.ledger.trials.values()]
        self._journal.sync()
        save_search(self.path, self.spec, SavedState(status, self._hash, saved_at, rows))
        # Only now is everything in the journal also in the checkpoint.
        self._journal.reset()
        self._dirty = False
        took = time.perf_counter() - started
        self._interval = max(CHECKPOINT_EVERY_S, SAVE_COST_FACTOR * took)

    def retarget(self, path: Path) -> None:
        """Checkpoint to `path` from now on ("save as"). Call right after a save, which emptied
        the old journal, so nothing is left behind in it."""
        self._journal.close()
        self.path = path
        self._journal = Journal(journal_path_for(path))
        self._dirty = True


def restore_ledger(
    spec: SearchSpec, state: SavedState | None, checkpoint: Path | None = None
) -> tuple[Ledger, Strategy]:
    """Rebuild the ledger and a strategy advanced past every trial already created.

    Rows come from the checkpoint, overridden by journal lines written after it. Trial ids are
    dense (0, 1, 2...) in the order the strategy produced them, so replaying the strategy for each
    id reproduces trials that were created but never saved.
    """
    rows = {row["id"]: row for row in (state.trials if state else [])}
    if checkpoint is not None:
        search_hash = spec.config_hash()
        for row in Journal(journal_path_for(checkpoint)).replay():
            if row.pop("search", None) == search_hash:
                rows[row["id"]] = row
    strategy = make_strategy(spec.strategy, spec.space, spec.seed, spec.max_trials)
    ledger = Ledger()
    for trial_id in range(max(rows, default=-1) + 1):
        params = strategy.ask()
        row = rows.get(trial_id)
        if row is not None:
            trial = Trial.from_row(row)
        elif params is not None:
            trial = Trial(id=trial_id, params=params)
        else:
            break
        ledger.add(trial)
        if trial.status == OK:
            strategy.tell(trial.params, trial.score)
    return ledger, strategy
