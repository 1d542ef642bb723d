"""Opening a search: which checkpoint file it writes to, and whether that file resumes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.searchfile.extend import ExtendRefused, extend
from console.searchfile.toml_io import (
    LoadedSearch,
    SavedState,
    SearchFileError,
    SearchSpec,
    load_search,
)


class CheckpointConflict(Exception):
    """The checkpoint file exists and holds something else; str() says what to do."""


@dataclass(frozen=True)
class OpenedSearch:
    spec: SearchSpec
    state: SavedState | None  # None: a fresh start
    checkpoint: Path
    note: str | None = None  # e.g. "resuming it", for the front end to show


def open_search(path: Path, *, save_to: Path | None = None, fresh: bool = False) -> OpenedSearch:
    """Load a search file and pick its checkpoint (default runs/NAME.toml).

    Reopening a checkpoint keeps writing to it. A search file whose checkpoint already holds the
    same search resumes from it; one that only raises the budget or widens the space extends it
    (console/searchfile/extend.py); one holding a different search is never overwritten.
    Raises SearchFileError or CheckpointConflict.
    """
    loaded = load_search(path)
    if save_to is not None:
        target = save_to
    elif loaded.state is not None:
        target = loaded.path
    else:
        target = Path("runs") / f"{loaded.spec.name}.toml"
    if fresh:
        return OpenedSearch(loaded.spec, None, target)
    if loaded.state is not None or not target.exists():
        return OpenedSearch(loaded.spec, loaded.state, target)
    return _resume_from(target, loaded)


def _resume_from(target: Path, loaded: LoadedSearch) -> OpenedSearch:
    try:
        existing = load_search(target)
    except SearchFileError as exc:
        raise CheckpointConflict(
            f"{target} exists and is not a readable checkpoint:\n{exc}\n"
            "Move it away, or choose another file with --save-to."
        ) from exc
    if existing.state is None:
        raise CheckpointConflict(
            f"{target} holds a search file, not a checkpoint; refusing to overwrite it.\n"
            "Start over with --fresh, or choose another file with --save-to."
        )
    if existing.state.config_hash != loaded.spec.config_hash():
        try:
            extension = extend(existing, loaded.spec)
        except ExtendRefused as exc:
            raise CheckpointConflict(
                f"{target} holds a different search; refusing to overwrite it:\n"
                + "".join(f"  {problem}\n" for problem in exc.problems)
                + "Start over with --fresh, or choose another file with --save-to."
            ) from None
        # The edited spec with the kept trials; the checkpoint is rewritten when it runs.
        return OpenedSearch(loaded.spec, extension.state, target, note=extension.note)
    return OpenedSearch(
        existing.spec,
        existing.state,
        target,
        note=f"{target} already holds this search: resuming it (--fresh starts over)",
    )
