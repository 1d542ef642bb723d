"""[export] auto = true: a headless search exports its best model when it finishes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from console.searchfile.toml_io import load_search
from console.store.devstore import LocalStore
from tests.conftest import write_search
from tests.store_tests.conftest import DECISION_TREE_SPACE, add_export
from tests.store_tests.test_store_cli import hpo_console

pytestmark = pytest.mark.timeout(90)


def auto_search(folder: Path, bucket: str) -> Path:
    search = write_search(folder, name="auto", estimator="decision_tree", space=DECISION_TREE_SPACE)
    return add_export(search, bucket, auto=True)


def test_headless_search_exports_at_the_end(
    store_env: LocalStore, bucket: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "auto.ckpt.toml"
    search = auto_search(tmp_path, bucket)
    done = hpo_console(
        str(search), "--headless", "--local-nodes", "1", "--save-to", str(checkpoint)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refitting decision_tree on iris..." in done.stdout
    assert "best.json updated" in done.stdout and "exported trial" in done.stdout
    pointer = store_env.config.client().get_object(bucket, "auto/best.json").read()
    best = load_search(checkpoint).state
    assert best is not None and best.status == "finished"
    top = max((t for t in best.trials if t["status"] == "ok"), key=lambda t: t["score"])
    assert json.loads(pointer)["trial_id"] == top["id"]


def test_a_failed_export_leaves_the_search_and_its_exit_status_alone(
    bucket: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the store is "down"
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    checkpoint = tmp_path / "auto.ckpt.toml"
    done = hpo_console(
        str(auto_search(tmp_path, bucket)), "--headless", "--local-nodes", "1",
        "--save-to", str(checkpoint),
        env={"MINIO_ENDPOINT": f"127.0.0.1:{closed_port}", "MINIO_ACCESS_KEY": "a",
             "MINIO_SECRET_KEY": "b", "HPO_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "export failed: cannot reach object store" in done.stdout
    assert f"retry with: hpo-console export {checkpoint}" in done.stdout
    state = load_search(checkpoint).state
    assert state is not None and state.status == "finished" and len(state.trials) == 3
