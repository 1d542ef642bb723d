"""best.json: what an exported model is, where it came from, and what built it."""

from __future__ import annotations

import datetime as dt
import platform
from importlib import metadata
from typing import Any

from console.searchfile.toml_io import LoadedSearch
from console.store import modelfile

MANIFEST_FORMAT = "zmq-hpo/best-model/1"


def build_manifest(
    loaded: LoadedSearch,
    trial: dict[str, Any],
    dataset: dict[str, Any],
    bucket: str,
    model_key: str,
    sha256: str,
    data: bytes,
) -> dict[str, Any]:
    spec = loaded.spec
    return {
        "format": MANIFEST_FORMAT,
        "search": spec.name,
        "config_hash": spec.config_hash(),
        "bucket": bucket,
        "model_key": model_key,
        "sha256": sha256,
        "size": len(data),
        "skops_trusted_types": modelfile.untrusted_types(data),
        "trial_id": trial["id"],
        "node": trial["node"],
        "estimator": spec.model.estimator,
        "params": {**spec.model.fixed, **trial["params"]},
        "metric": spec.metric,
        "cv": spec.cv,
        "seed": spec.seed,
        "score": trial["score"],
        "std": trial["std"],
        "fold_scores": trial["fold_scores"],
        "dataset": dataset,
        "versions": versions(),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def versions() -> dict[str, str]:
    import numpy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "skops": metadata.version("skops"),
        "zmq-hpo": metadata.version("zmq-hpo"),
    }


def still_current(
    manifest: dict[str, Any] | None, loaded: LoadedSearch, trial: dict[str, Any], dataset_sha: str
) -> bool:
    """True if `manifest` describes exactly the model a refit of `trial` would produce now:
    same search, trial, params, data and library versions (the serialised file is deterministic).
    """
    if not manifest or manifest.get("format") != MANIFEST_FORMAT:
        return False
    spec = loaded.spec
    return (
        manifest.get("config_hash") == spec.config_hash()
        and manifest.get("trial_id") == trial["id"]
        and manifest.get("estimator") == spec.model.estimator
        and manifest.get("params") == {**spec.model.fixed, **trial["params"]}
        and (manifest.get("dataset") or {}).get("sha256") == dataset_sha
        and manifest.get("versions") == versions()
    )
