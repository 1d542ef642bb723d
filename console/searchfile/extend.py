"""Extending a saved search with an edited spec: the kept trials as a state for the new spec."""

from __future__ import annotations

import dataclasses
from typing import Any

from console.records import TrialRecord, TrialStatus
from console.scheduler.checkpoint import saved_records
from console.search.base import make_strategy
from console.search.sampler_state import portable
from console.searchfile.spec_changes import (
    GRID_INDEX_LIMIT,
    SpecChanges,
    compare,
    inside,
    params_key,
)
from console.searchfile.toml_io import LoadedSearch, SavedState, SearchSpec


class ExtendRefused(Exception):
    """The edit changes what the saved scores mean, or leaves finished trials outside the new
    space; `problems` has one 'key: why' line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(problems)


@dataclasses.dataclass(frozen=True)
class Extension:
    state: SavedState  # the kept trials, saved under the new spec's hash
    note: str  # "extending: max_trials 20 -> 40, keeping 20 finished trials"
    changes: SpecChanges


def extend(saved: LoadedSearch, spec: SearchSpec) -> Extension:
    """The checkpoint `saved` (its journal replayed) carried over to the edited `spec`.

    Finished trials are all kept or the extension is refused; a pending trial outside the new
    space is dropped (it never ran) and its id is asked again. Open leases are dropped: the
    search's hash changes, so what a node still runs for the old one is refused as stale and
    the trial runs again.
    """
    assert saved.state is not None
    changes = compare(saved.spec, spec)
    if changes.refused:
        raise ExtendRefused(changes.refused)
    records, _, _ = saved_records(saved.state, saved.path, saved.state.config_hash)
    kept = [r for r in records.values() if _is_final(r) or inside(spec.space, r.params)]
    outside = [r for r in kept if not inside(spec.space, r.params)]
    if outside:
        raise ExtendRefused([_outside(outside, spec)])
    if spec.strategy == "grid" and changes.space:
        kept = _renumbered(kept, spec)
    planned = make_strategy(
        spec.strategy, spec.space, spec.seed, spec.max_trials, objectives=spec.objectives
    ).planned_total()
    over = [r for r in kept if r.id >= planned and _is_final(r)]
    if over:
        raise ExtendRefused(
            [
                f"search.max_trials: {spec.max_trials} plans {planned} trials but trial "
                f"{over[0].id} is already finished; raise it to at least {over[-1].id + 1}"
            ]
        )
    kept = [dataclasses.replace(r, leases=()) for r in kept if r.id < planned]
    if changes.space:  # CMA-ES's saved optimizer is scaled to the old ranges: it restarts
        kept = [dataclasses.replace(r, sampler_attrs=portable(r.sampler_attrs)) for r in kept]
    rows = [r.to_row() for r in sorted(kept, key=lambda r: r.id)]
    status = "running" if saved.state.status == "finished" else saved.state.status
    state = SavedState(status, spec.config_hash(), saved.state.saved_at, rows)
    return Extension(state, _note(changes, kept), changes)


def _is_final(record: TrialRecord) -> bool:
    return record.status in (TrialStatus.OK, TrialStatus.FAILED, TrialStatus.PRUNED)


def _outside(records: list[TrialRecord], spec: SearchSpec) -> str:
    first = records[0]
    names = sorted(
        {name for r in records for name, v in r.params.items() if not inside(spec.space, {name: v})}
    )
    where = ", ".join(f"space.{name}" for name in names) or "space"
    return (
        f"{where}: {len(records)} finished trial(s) lie outside the new space (e.g. trial "
        f"{first.id}: {first.params}); widen it to include them, or start over with --fresh"
    )


def _renumbered(records: list[TrialRecord], spec: SearchSpec) -> list[TrialRecord]:
    """Each trial takes the id of its point in the new grid, so trial k is grid point k again
    and the ids left over are exactly the points not yet run."""
    grid: Any = make_strategy(spec.strategy, spec.space, spec.seed, spec.max_trials)
    total = grid.planned_total()
    if total > GRID_INDEX_LIMIT:
        raise ExtendRefused(
            [f"space: a grid of {total} points is too big to extend; start over with --fresh"]
        )
    index = {params_key(grid.params_at(k)): k for k in range(total)}
    renumbered: dict[int, TrialRecord] = {}
    missing = []
    for record in records:
        new_id = index.get(params_key(record.params))
        if new_id is None:
            if _is_final(record):
                missing.append(record)
            continue  # a pending trial of a point the new grid skips: never ran, dropped
        if new_id not in renumbered or _is_final(record):  # a finished copy wins
            renumbered[new_id] = dataclasses.replace(record, id=new_id)
    if missing:
        raise ExtendRefused(
            [
                f"search.max_trials: {len(missing)} finished trial(s) fall beyond the new grid's "
                f"first {total} points (e.g. trial {missing[0].id}); raise max_trials or remove it"
            ]
        )
    return list(renumbered.values())


def _note(changes: SpecChanges, kept: list[TrialRecord]) -> str:
    parts = []
    if changes.budget:
        old, new = changes.budget
        parts.append(f"max_trials {old or 'the whole grid'} -> {new or 'the whole grid'}")
    parts += changes.space
    finished = sum(1 for r in kept if _is_final(r))
    plural = "" if finished == 1 else "s"
    return f"extending: {'; '.join(parts)}, keeping {finished} finished trial{plural}"


__all__ = ["ExtendRefused", "Extension", "extend"]
