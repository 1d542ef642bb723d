"""The periodic checkpoint written in a thread: nothing journaled meanwhile is lost, whatever
happens (a crash mid-write, or a synchronous save that overtakes it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.records import OpenLease
from console.scheduler import checkpoint as checkpoint_module
from console.scheduler.checkpoint import Checkpointer, restore_ledger
from console.scheduler.journal import Journal, journal_path_for
from console.scheduler.ledger import Ledger, Trial
from console.searchfile.spec import SearchSpec
from console.searchfile.toml_io import load_search
from tests.conftest import write_search

GRID = 'seconds = { type = "choice", values = [0.0, 0.1, 0.2, 0.3] }'


def _setup(tmp_path: Path) -> tuple[SearchSpec, Ledger, Checkpointer, Path]:
    spec = load_search(write_search(tmp_path, space=GRID)).spec
    ledger, _, _ = restore_ledger(spec, None)
    path = tmp_path / "runs" / "t.toml"
    return spec, ledger, Checkpointer(spec, path, ledger), path


def _dispatch(ledger: Ledger, checkpointer: Checkpointer, trial_id: int) -> None:
    trial = ledger.trials[trial_id]
    ledger.start(trial, OpenLease(f"lease-{trial_id}", "n1", 1), 0.0)
    checkpointer.journal(trial.record())
    checkpointer.flush_journal()


def test_records_journaled_during_a_background_write_survive(tmp_path: Path) -> None:
    spec, ledger, checkpointer, path = _setup(tmp_path)
    for trial_id in range(4):  # the strategy's trials, as the core creates them
        ledger.add(Trial(trial_id, {"seconds": trial_id / 10}))
    _dispatch(ledger, checkpointer, 0)

    async def scenario() -> None:
        saving = asyncio.ensure_future(checkpointer.save_in_background("running"))
        await asyncio.sleep(0)  # rows taken and the journal rotated; the write is under way
        _dispatch(ledger, checkpointer, 1)  # journaled while the file is written
        await saving

    asyncio.run(scenario())
    journal = Journal(journal_path_for(path))
    assert not journal.saving_path.exists()  # the older segment is in the checkpoint now
    loaded = load_search(path)
    restored, _, warnings = restore_ledger(spec, loaded.state, path)
    assert not warnings
    assert set(restored.trials[0].open_leases) == {"lease-0"}  # from the checkpoint
    assert set(restored.trials[1].open_leases) == {"lease-1"}  # from the new segment


def test_a_failed_background_write_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write fails (a full disk, or the process dies mid-write): both journal segments are
    left, and a resume replays them, older first."""
    spec, ledger, checkpointer, path = _setup(tmp_path)
    for trial_id in range(4):
        ledger.add(Trial(trial_id, {"seconds": trial_id / 10}))
    checkpointer.save("running")
    _dispatch(ledger, checkpointer, 0)

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module, "save_search", disk_full)
    with pytest.raises(OSError):
        asyncio.run(checkpointer.save_in_background("running"))
    _dispatch(ledger, checkpointer, 1)
    journal = Journal(journal_path_for(path))
    assert journal.saving_path.exists() and journal.path.exists()
    restored, _, _ = restore_ledger(spec, load_search(path).state, path)
    assert set(restored.trials[0].open_leases) == {"lease-0"}  # from the older segment
    assert set(restored.trials[1].open_leases) == {"lease-1"}
