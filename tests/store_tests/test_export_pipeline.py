"""Exporting a pipeline search: the manifest names the features, their kinds and the classes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from console.searchfile.toml_io import SavedState, load_search, save_search
from console.store import modelfile
from console.store.devstore import LocalStore
from console.store.export import export_best
from node.datasets import load_table
from node.pipelines import build_model

pytestmark = pytest.mark.timeout(60)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wine_mixed_pipeline.toml"


def test_pipeline_model_carries_its_feature_names(
    store_env: LocalStore, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLE.parents[1])  # the example's CSV path is relative to the repo
    text = EXAMPLE.read_text() + f'\n[export]\nbucket = "{bucket}"\n'
    spec_file = tmp_path / "w.toml"
    spec_file.write_text(text)
    spec = load_search(spec_file).spec
    params = {
        "columns__num__scale": "robust_scaler",
        "svc__kernel": "rbf",
        "svc__C": 3.0,
        "svc__gamma": 0.05,
        "columns__num__impute__strategy": "median",
    }
    row = {
        "id": 0,
        "params": params,
        "status": "ok",
        "score": 0.97,
        "std": 0.01,
        "fold_scores": [0.97] * 5,
        "attempts": 1,
        "node": "n1",
    }
    checkpoint = tmp_path / "w-checkpoint.toml"
    state = SavedState("finished", spec.config_hash(), dt.datetime.now(dt.UTC).isoformat(), [row])
    save_search(checkpoint, spec, state)

    result = export_best(load_search(checkpoint), store_env.config)
    client = store_env.config.client()
    manifest = json.loads(client.get_object(bucket, result.pointer_key).read())
    dataset = manifest["dataset"]
    assert dataset["features"][:2] == ["alcohol", "malic_acid"] and "id" not in dataset["features"]
    assert dataset["kinds"][-2:] == ["categorical", "categorical"]
    assert dataset["classes"] == ["cultivar_a", "cultivar_b", "cultivar_c"]
    data = client.get_object(bucket, result.model_key).read()
    model = modelfile.loads(data, trusted=manifest["skops_trusted_types"])
    assert list(model.feature_names_in_) == dataset["features"]
    table = load_table(spec.dataset_ref())
    reference = build_model(
        "svc",
        {**spec.model.fixed, **params},
        spec.seed,
        spec.model.pipeline,
        list(table.columns),
        list(table.kinds),
    )
    reference.fit(table.X, table.y)
    assert (model.predict(table.X) == reference.predict(table.X)).all()
