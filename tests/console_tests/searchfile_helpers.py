"""Shared pieces of the search-file tests: fixture files and trial rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.searchfile.toml_io import TRIAL_DEFAULTS, SavedState, SearchFileError, load_search

FILES = Path(__file__).parent / "files"
# The project's sample.toml is checked on its own; the other tests use a fixed copy of an SVC
# search, so they do not change whenever the sample does.
PROJECT_SAMPLE = Path(__file__).resolve().parents[2] / "sample.toml"
SAMPLE = Path(__file__).resolve().parent / "files" / "svc_digits.toml"


def errors_of(path: Path) -> list[str]:
    with pytest.raises(SearchFileError) as caught:
        load_search(path)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


def trial(trial_id: int, **fields) -> dict:
    """A saved trial row: the loader's defaults, an id and some MLP params."""
    row = TRIAL_DEFAULTS | {"id": trial_id, "params": {"activation": "relu", "max_fun": None}}
    return row | fields


def state_for(spec, trials: list[dict], status: str = "running") -> SavedState:
    return SavedState(status, spec.config_hash(), "2025-01-02T03:04:05+00:00", trials)
