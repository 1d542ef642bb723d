"""Export against a real S3 server: round trip, idempotence, tampering, outages, bad credentials."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

from console.__main__ import main
from console.searchfile.toml_io import load_search
from console.store import modelfile
from console.store.devstore import LocalStore
from console.store.export import ExportError, export_best, store_config
from node.s3 import StoreConfig, StoreError
from tests.store_tests.conftest import object_keys, saved_search, trial_row

pytestmark = pytest.mark.timeout(60)


def test_round_trip_pull_load_predict(store_env: LocalStore, bucket: str, tmp_path: Path) -> None:
    checkpoint = saved_search(
        tmp_path, bucket, [trial_row(0, 2, 0.90), trial_row(1, 3, 0.95), trial_row(2, 4, 0.93)]
    )
    progress: list[str] = []
    result = export_best(load_search(checkpoint), store_env.config, progress.append)
    assert (result.trial_id, result.reused, result.pointer_updated) == (1, False, True)
    assert result.model_key == f"trees/trial-1-{result.sha256[:12]}.skops"
    assert any(line.startswith("refitting decision_tree on iris") for line in progress)
    assert any("verified" in line for line in progress)
    assert progress[-1].startswith("best.json updated")

    out = tmp_path / "pulled" / "model.skops"
    assert main(["pull", result.pointer_url, "-o", str(out)]) == 0
    manifest = json.loads(store_env.config.client().get_object(bucket, "trees/best.json").read())
    assert manifest["params"] == {"max_depth": 3} and manifest["trial_id"] == 1
    assert manifest["score"] == 0.95 and manifest["dataset"]["source"] == "sklearn:iris"
    assert {"python", "scikit-learn", "numpy"} <= set(manifest["versions"])
    model = modelfile.loads(out.read_bytes(), trusted=manifest["skops_trusted_types"])
    X, y = load_iris(return_X_y=True)
    # The refit GridSearchCV would do: the best params, the search's seed, all the data.
    reference = DecisionTreeClassifier(max_depth=3, random_state=3).fit(X, y)
    assert (model.predict(X) == reference.predict(X)).all()
    assert model.score(X, y) == reference.score(X, y)


def test_reexport_is_a_noop_and_a_newer_best_moves_the_pointer(
    store_env: LocalStore, bucket: str, tmp_path: Path
) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.90)])
    first = export_best(load_search(checkpoint), store_env.config)
    keys = object_keys(store_env, bucket)
    progress: list[str] = []
    again = export_best(load_search(checkpoint), store_env.config, on_progress=progress.append)
    assert again.model_key == first.model_key and again.sha256 == first.sha256
    assert again.reused and not again.pointer_updated
    assert not any("refitting" in line for line in progress), progress  # best.json says it all
    assert object_keys(store_env, bucket) == keys == sorted([first.model_key, "trees/best.json"])

    better = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.90), trial_row(1, 4, 0.97)])
    newer = export_best(load_search(better), store_env.config)
    assert newer.trial_id == 1 and newer.model_key != first.model_key and newer.pointer_updated
    pointer = store_env.config.client().get_object(bucket, "trees/best.json").read()
    assert json.loads(pointer)["model_key"] == newer.model_key
    assert first.model_key in object_keys(store_env, bucket)  # older exports stay for audit


def test_tampered_model_fails_pull_and_is_repaired_by_export(
    store_env: LocalStore, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 3, 0.9)])
    result = export_best(load_search(checkpoint), store_env.config)
    client = store_env.config.client()
    tampered = b"PK not the model you exported"
    client.put_object(bucket, result.model_key, io.BytesIO(tampered), len(tampered))

    out = tmp_path / "model.skops"
    capsys.readouterr()
    assert main(["pull", result.pointer_url, "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert "failed verification" in error and result.model_key in error
    assert not out.exists() and list(tmp_path.glob(".model.skops*")) == []

    repaired = export_best(load_search(checkpoint), store_env.config)
    assert not repaired.reused and repaired.model_key == result.model_key
    assert main(["pull", result.pointer_url, "-o", str(out)]) == 0 and out.exists()


def test_no_finished_trial(store_env: LocalStore, bucket: str, tmp_path: Path) -> None:
    failed = {**trial_row(0, 2, 0.0), "status": "failed", "score": None, "std": None}
    checkpoint = saved_search(tmp_path, bucket, [failed])
    with pytest.raises(ExportError, match="no finished trial to export"):
        export_best(load_search(checkpoint), store_env.config)


def test_wrong_credentials_are_named_and_the_checkpoint_is_untouched(
    store_env: LocalStore, bucket: str, tmp_path: Path
) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.9)])
    before = checkpoint.read_bytes()
    wrong = StoreConfig(store_env.config.endpoint, store_env.access_key, "not-the-secret")
    with pytest.raises(ExportError, match=r"rejected the credentials.*MINIO_SECRET_KEY") as caught:
        export_best(load_search(checkpoint), wrong)
    assert store_env.config.endpoint in str(caught.value)
    assert checkpoint.read_bytes() == before


def test_missing_rights_are_named(store_env: LocalStore, bucket: str, tmp_path: Path) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.9)])
    store_env.config.client().make_bucket(bucket)
    assert store_env.read_only is not None
    reader = StoreConfig(store_env.config.endpoint, *store_env.read_only)
    with pytest.raises(ExportError, match=rf"access denied while uploading s3://{bucket}/trees/"):
        export_best(load_search(checkpoint), reader)


def test_server_down_then_back(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second, private server: stopped, the export fails clearly; restarted, it succeeds."""
    monkeypatch.setenv("HPO_CACHE_DIR", str(tmp_path / "cache"))
    store = LocalStore(tmp_path / "own-store").start()
    try:
        checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.9)])
        before = checkpoint.read_bytes()
        store.stop()
        retries: list[str] = []
        with pytest.raises(ExportError, match="cannot reach object store") as caught:
            export_best(load_search(checkpoint), store.config, retries.append)
        assert store.config.endpoint in str(caught.value)
        assert sum("retrying in" in line for line in retries) == 3  # capped backoff, then stop
        assert checkpoint.read_bytes() == before
        store.start()  # same ports, same data folder
        result = export_best(load_search(checkpoint), store.config)
        assert result.pointer_updated
    finally:
        store.stop()


def test_config_comes_only_from_the_environment() -> None:
    assert StoreConfig.from_env({}) is None
    config = StoreConfig.from_env(
        {"MINIO_ENDPOINT": "https://minio.example:9000/", "MINIO_ACCESS_KEY": "a"}
    )
    assert config == StoreConfig("minio.example:9000", "a", "", secure=True)
    with pytest.raises(StoreError, match="MINIO_SECURE"):
        StoreConfig.from_env({"MINIO_ENDPOINT": "h:1", "MINIO_SECURE": "maybe"})


def test_not_configured_is_an_export_error(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.9)])
    with pytest.raises(ExportError, match="export is not configured: set MINIO_ENDPOINT"):
        export_best(load_search(checkpoint), None)
    monkeypatch.delenv("MINIO_ENDPOINT", raising=False)
    with pytest.raises(ExportError, match="export is not configured: set MINIO_ENDPOINT"):
        store_config()
    monkeypatch.setenv("MINIO_ENDPOINT", "host:9000")
    monkeypatch.setenv("MINIO_SECURE", "perhaps")
    with pytest.raises(ExportError, match="MINIO_SECURE='perhaps'"):
        store_config()


def test_the_node_side_stays_free_of_the_console() -> None:
    """Nodes install without Textual or skops: fetching datasets must not pull them in."""
    probe = (
        "import sys, node.datasets, node.objectfetch, node.s3; "
        "roots = ('console', 'textual', 'skops'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
