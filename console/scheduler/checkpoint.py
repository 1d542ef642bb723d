"""Saving and restoring a search's state: TOML checkpoint plus the result journal."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

from console.records import RecordError, TrialRecord
from console.scheduler.checkpoint_lock import CheckpointLock
from console.scheduler.journal import Journal, journal_path_for
from console.scheduler.ledger import Ledger, Trial
from console.search.base import Strategy, make_strategy
from console.searchfile.toml_io import SavedState, SearchSpec, save_search

CHECKPOINT_EVERY_S = 2.0  # results are already durable in the journal; this bounds replay work
# A big search's checkpoint takes a while to write (10,000 trials: ~0.35 s, in a thread for the
# periodic ones); spacing checkpoints this many save-durations apart caps that at ~5% of the time.
SAVE_COST_FACTOR = 20


class Checkpointer:
    """Journals each final outcome at once and rewrites the TOML checkpoint every few seconds."""

    def __init__(
        self,
        spec: SearchSpec,
        path: Path,
        ledger: Ledger,
        timing: Callable[[], tuple[float, tuple[int, float] | None]] | None = None,
    ) -> None:
        self.spec = spec
        # The search time so far and when its best was found, saved with the state.
        self.timing = timing or (lambda: (0.0, None))
        self.path = path
        self.ledger = ledger
        self._journal = Journal(journal_path_for(path))
        self._hash = spec.config_hash()
        self._dirty = True  # the first checkpoint is written as soon as the search starts
        self._last_save = float("-inf")
        self._interval = CHECKPOINT_EVERY_S
        self._lock = threading.Lock()  # one writer of the file and the journal's segments
        self._generation = 0  # checkpoints written: a stale background write is skipped
        self.saving = False  # a background write is in flight

    def journal(self, record: TrialRecord) -> None:
        """Queue a record for the journal; `flush_journal()` before sending what depends on it."""
        self._journal.append({"search": self._hash, **record.to_row()})
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
        """Write the checkpoint now, in this thread (on state changes and at the end)."""
        started = time.perf_counter()
        with self._lock:  # waits for a background write in flight, then supersedes it
            state = self._state(status)
            self._journal.sync()
            save_search(self.path, self.spec, state)
            # Only now is everything in the journal also in the checkpoint.
            self._journal.reset()
            self._generation += 1
        self._dirty = False
        self._interval = max(CHECKPOINT_EVERY_S, SAVE_COST_FACTOR * (time.perf_counter() - started))

    async def save_in_background(self, status: str) -> None:
        """The periodic checkpoint: rows are taken here, but the TOML is written in a thread, so
        a big search (100,000 trials: seconds) does not hold up the event loop. The journal is
        rotated first; its older segment is dropped once the file is written."""
        if self.saving or self._journal.saving_path.exists():
            self.save(status)  # a write in flight, or an older segment left by a crash
            return
        started = time.perf_counter()
        state, generation = self._state(status), self._generation
        self._journal.rotate()
        self._dirty = False
        self.saving = True
        try:
            await asyncio.to_thread(self._write_rotated, state, generation)
        finally:
            self.saving = False
        self._interval = max(CHECKPOINT_EVERY_S, SAVE_COST_FACTOR * (time.perf_counter() - started))

    def _write_rotated(self, state: SavedState, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a synchronous save since then covered all of it (and both segments)
            save_search(self.path, self.spec, state)
            self._journal.drop_saved()
            self._generation += 1

    def _state(self, status: str) -> SavedState:
        saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        rows = [trial.to_row() for trial in self.ledger.trials.values()]
        elapsed_s, best_found = self.timing()
        return SavedState(status, self._hash, saved_at, rows, elapsed_s, best_found)

    def retarget(self, path: Path) -> None:
        """Checkpoint to `path` from now on ("save as"). Call right after a save, which emptied
        the old journal, so nothing is left behind in it."""
        self._journal.close()
        self.path = path
        self._journal = Journal(journal_path_for(path))
        self._dirty = True

    def save_as(self, path: Path, status: str, lock: CheckpointLock) -> CheckpointLock:
        """Take `path`'s lock, checkpoint there and from now on; the lock now held. If it cannot
        be written (OSError) or is locked (CheckpointLocked), the old file and lock stay."""
        new_lock = CheckpointLock(path)
        new_lock.acquire()
        old = self.path
        self.retarget(path)
        try:
            self.save(status)
        except OSError:
            self.retarget(old)
            new_lock.release()
            raise
        lock.release()
        return new_lock


def restore_ledger(
    spec: SearchSpec, state: SavedState | None, checkpoint: Path | None = None
) -> tuple[Ledger, Strategy, list[str]]:
    """Rebuild the ledger and a strategy advanced past every trial already created, plus a
    warning for each saved row that could not be used.

    Rows come from the checkpoint, overridden by journal lines written after it (dispatches and
    outcomes alike). Trial ids are dense (0, 1, 2...); an id with no saved row (created, never
    saved) is asked again: grid and random give it the same params as before.
    """
    records, where, warnings = saved_records(state, checkpoint, spec.config_hash())
    strategy = make_strategy(
        spec.strategy, spec.space, spec.seed, spec.max_trials,
        slots=spec.slots_hint(), pruning=spec.pruning, objectives=spec.objectives,
        metric=spec.metric,
    )  # fmt: skip
    planned = strategy.planned_total()
    for trial_id in sorted(trial_id for trial_id in records if trial_id >= planned):
        warnings.append(
            f"{where[trial_id]}: trial {trial_id} skipped: this search has only {planned} trials"
        )
        del records[trial_id]
    if records:
        # The strategy rebuilds itself from what was saved (a model-based study, its history);
        # pending trials keep their saved params and are dispatched again, never re-asked.
        strategy.restore([records[trial_id] for trial_id in sorted(records)])
    ledger = Ledger(spec.max_attempts, spec.cv)
    for trial_id in range(max(records, default=-1) + 1):
        record = records.get(trial_id)
        params = None if record is not None else strategy.ask(trial_id)  # created, never saved
        if record is not None:
            trial = Trial.from_record(record)
        elif params is not None:
            trial = Trial(id=trial_id, params=params)
        else:
            break
        ledger.add(trial)
    return ledger, strategy, warnings


def saved_records(
    state: SavedState | None, checkpoint: Path | None, search_hash: str
) -> tuple[dict[int, TrialRecord], dict[int, str], list[str]]:
    """Every saved trial by id: the checkpoint's rows overridden by the journal's lines for
    `search_hash`, each record's source ('file: [[trials]] ID' or 'file:line'), and a warning
    for each row that could not be used. Also what `hpo-console results` and extending read."""
    warnings: list[str] = []
    records: dict[int, TrialRecord] = {}
    where: dict[int, str] = {}  # each record's source, for warnings
    for row in state.trials if state else []:
        problems: list[str] = []
        try:
            record = TrialRecord.from_row(row, problems)
        except RecordError as exc:
            warnings.append(f"{checkpoint}: trial {row.get('id')!r} skipped: {exc}")
            continue
        warnings += [f"{checkpoint}: {problem}" for problem in problems]
        records[record.id], where[record.id] = record, f"{checkpoint}: [[trials]] {record.id}"
    if checkpoint is not None:
        journaled, problems = Journal(journal_path_for(checkpoint)).replay(search_hash)
        warnings += problems
        for record, line in journaled:
            records[record.id], where[record.id] = record, line
    return records, where, warnings
