"""Object-store test helpers: env pointing at the session's S3 server, buckets, saved searches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from console.searchfile.toml_io import SavedState, load_search, save_search
from console.store.devstore import LocalStore
from tests.conftest import write_search

DECISION_TREE_SPACE = 'max_depth = { type = "choice", values = [2, 3, 4] }'


def add_export(search_file: Path, bucket: str, auto: bool = False) -> Path:
    text = search_file.read_text()
    search_file.write_text(f'{text}\n[export]\nbucket = "{bucket}"\nauto = {str(auto).lower()}\n')
    return search_file


def trial_row(trial_id: int, max_depth: int, score: float) -> dict[str, Any]:
    return {
        "id": trial_id,
        "params": {"max_depth": max_depth},
        "status": "ok",
        "score": score,
        "std": 0.01,
        "fold_scores": [score] * 3,
        "attempts": 1,
        "node": "n1",
    }


def saved_search(
    folder: Path, bucket: str, trials: list[dict[str, Any]], name: str = "trees"
) -> Path:
    """A checkpoint of a finished decision-tree search on iris holding `trials`."""
    spec_file = add_export(
        write_search(folder, name=name, estimator="decision_tree", space=DECISION_TREE_SPACE),
        bucket,
    )
    spec = load_search(spec_file).spec
    checkpoint = folder / f"{name}-checkpoint.toml"
    state = SavedState(
        status="finished",
        config_hash=spec.config_hash(),
        saved_at=dt.datetime.now(dt.UTC).isoformat(),
        trials=trials,
    )
    save_search(checkpoint, spec, state)
    return checkpoint


def object_keys(store: LocalStore, bucket: str) -> list[str]:
    client = store.config.client()
    return sorted(o.object_name for o in client.list_objects(bucket, recursive=True))
