"""Export a search's best model: refit, serialise with skops, upload, verify, then point to it."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.searchfile.toml_io import LoadedSearch, SearchFileError, load_search
from console.store import modelfile
from console.store.manifest import build_manifest, still_current
from console.store.objectstore import SET_ENV, ObjectStore, StoreConfig, StoreError

POINTER_NAME = "best.json"


class ExportError(Exception):
    """An export that could not be done; str() is a one-line message for the user."""


@dataclass(frozen=True)
class ExportResult:
    bucket: str
    model_key: str
    pointer_key: str
    sha256: str
    size: int
    trial_id: int
    score: float
    std: float | None
    metric: str
    reused: bool  # the model object was already there: nothing was uploaded
    pointer_updated: bool  # best.json was (re)written to name this model
    seconds: float

    @property
    def pointer_url(self) -> str:
        return f"s3://{self.bucket}/{self.pointer_key}"


def best_trial(loaded: LoadedSearch) -> dict[str, Any] | None:
    """The highest-scoring finished trial (the first one on a tie, as the scheduler picks)."""
    scored = [
        t
        for t in (loaded.state.trials if loaded.state else [])
        if t["status"] == "ok" and t["score"] is not None
    ]
    return max(scored, key=lambda t: t["score"], default=None)


def store_config() -> StoreConfig:
    """StoreConfig.from_env(), with "not configured" and a malformed MINIO_* as ExportError."""
    try:
        config = StoreConfig.from_env()
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    if config is None:
        raise ExportError(f"export is not configured: {SET_ENV}")
    return config


def export_best(
    loaded: LoadedSearch,
    config: StoreConfig | None,
    on_progress: Callable[[str], None] = lambda _: None,
) -> ExportResult:
    """Refit the best trial on the full dataset and publish it; blocking; raises ExportError.

    `config` None (StoreConfig.from_env() found no MINIO_ENDPOINT) raises the "not configured"
    ExportError, so a caller may pass from_env()'s answer straight through.
    """
    started = time.monotonic()
    if config is None:
        raise ExportError(f"export is not configured: {SET_ENV}")
    spec = loaded.spec
    trial = best_trial(loaded)
    if trial is None:
        raise ExportError(f"no finished trial to export in {loaded.path}")
    reused = _reuse_current_export(loaded, trial, config, on_progress, started)
    if reused is not None:
        return reused
    try:
        model, dataset = _refit(loaded, trial, config, on_progress)
        data = modelfile.dumps(model)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(
            f"refitting trial {trial['id']} failed: {type(exc).__name__}: {exc}"
        ) from exc
    sha256 = hashlib.sha256(data).hexdigest()
    bucket = spec.export.bucket
    model_key = f"{spec.name}/trial-{trial['id']}-{sha256[:12]}.skops"
    pointer_key = f"{spec.name}/{POINTER_NAME}"
    manifest = build_manifest(loaded, trial, dataset, bucket, model_key, sha256, data)
    try:
        store = ObjectStore(config, on_retry=on_progress)
        store.ensure_bucket(bucket)
        reused = _upload_verified(store, bucket, model_key, data, sha256, on_progress)
        current = store.read_json(bucket, pointer_key)
        pointer_updated = not (current and current.get("sha256") == sha256)
        if pointer_updated:
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            store.put(bucket, pointer_key, body, "application/json")
            on_progress(f"{POINTER_NAME} updated: s3://{bucket}/{pointer_key}")
        else:
            on_progress(f"{POINTER_NAME} already points to this model")
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    where = (bucket, model_key, pointer_key, sha256, len(data))
    return _result(loaded, trial, where, reused, pointer_updated, started)


def _reuse_current_export(
    loaded: LoadedSearch,
    trial: dict[str, Any],
    config: StoreConfig,
    say: Callable[[str], None],
    started: float,
) -> ExportResult | None:
    """The result of the export best.json already names, if it is this trial's model, intact.

    Saves the refit (seconds) when `e` is pressed again or a search finishes again. None means
    "export it"; a store that cannot be reached or refuses raises ExportError before any refit.
    """
    from node.datasets import DatasetError

    spec = loaded.spec
    bucket, pointer_key = spec.export.bucket, f"{spec.name}/{POINTER_NAME}"
    try:
        store = ObjectStore(config, on_retry=say)
        current = store.read_json(bucket, pointer_key)
        dataset_sha = _dataset_sha256(spec.dataset_ref(), config)
    except StoreError as exc:
        if exc.missing:  # no bucket or no best.json yet: a first export
            return None
        raise ExportError(str(exc)) from None  # unreachable, refused...: fail before a refit
    except DatasetError as exc:
        raise ExportError(f"cannot load the dataset to refit: {exc}") from None
    if not (current and still_current(current, loaded, trial, dataset_sha)):
        return None
    key, sha256, size = current.get("model_key"), current.get("sha256"), current.get("size")
    if not (isinstance(key, str) and isinstance(sha256, str) and isinstance(size, int)):
        return None
    try:
        store.verify(bucket, key, size, sha256)
    except StoreError as exc:
        say(f"{exc}; exporting it again")
        return None
    say(f"s3://{bucket}/{key} is this trial's model, verified: nothing to refit or upload")
    where = (bucket, key, pointer_key, sha256, size)
    return _result(loaded, trial, where, True, False, started)


def _result(
    loaded: LoadedSearch,
    trial: dict[str, Any],
    where: tuple[str, str, str, str, int],  # bucket, model key, pointer key, sha256, size
    reused: bool,
    pointer_updated: bool,
    started: float,
) -> ExportResult:
    bucket, model_key, pointer_key, sha256, size = where
    return ExportResult(
        bucket=bucket,
        model_key=model_key,
        pointer_key=pointer_key,
        sha256=sha256,
        size=size,
        trial_id=trial["id"],
        score=trial["score"],
        std=trial["std"],
        metric=loaded.spec.metric,
        reused=reused,
        pointer_updated=pointer_updated,
        seconds=time.monotonic() - started,
    )


def _refit(
    loaded: LoadedSearch, trial: dict[str, Any], config: StoreConfig, say: Callable[[str], None]
) -> tuple[Any, dict[str, Any]]:
    """GridSearchCV's refit: the scored estimator, built by the node's code, fit on all the data."""
    import numpy as np

    from node import pipelines
    from node.datasets import DatasetError, load_table

    spec = loaded.spec
    ref = spec.dataset_ref()
    say(f"refitting {spec.model.estimator} on {ref['source'].removeprefix('sklearn:')}...")
    try:
        digest = _dataset_sha256(ref, config)
        table = load_table(ref)
    except (DatasetError, StoreError) as exc:
        raise ExportError(f"cannot load the dataset to refit: {exc}") from None
    params = {**spec.model.fixed, **trial["params"]}
    model = pipelines.build_model(
        spec.model.estimator,
        params,
        spec.seed,
        spec.model.pipeline,
        list(table.columns),
        list(table.kinds),
    )
    model.fit(table.X, table.y)
    # The columns it expects, by name and in order (a DataFrame with them is checked on predict).
    _name_features(model, np.asarray(table.columns, dtype=object))
    described = {"features": list(table.columns), "kinds": list(table.kinds)}
    if hasattr(model, "classes_"):
        described["classes"] = [_plain(label) for label in model.classes_]
    return model, {**ref, "sha256": digest, "rows": len(table.y), **described}


def _name_features(model: Any, names: Any) -> None:
    """Set feature_names_in_ (a Pipeline reads it from its first step, so set it there)."""
    first = model.steps[0][1] if hasattr(model, "steps") else model
    if first == "passthrough":
        return
    first.feature_names_in_ = names


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if hasattr(value, "item") else value


def _dataset_sha256(ref: dict[str, Any], config: StoreConfig) -> str:
    """Of the CSV's bytes (file: and s3://); of the arrays for scikit-learn's built-ins."""
    source: str = ref["source"]
    if source.startswith("s3://"):
        from node.objectfetch import fetch_dataset

        return fetch_dataset(source, ref.get("sha256"), config)[1]
    if source.startswith("file:"):
        from node.datasets import DatasetError, file_path

        try:
            with open(file_path(source), "rb") as file:
                return hashlib.file_digest(file, "sha256").hexdigest()
        except OSError as exc:
            raise DatasetError(f"cannot read dataset file {file_path(source)}: {exc}") from None
    from node.datasets import load_dataset

    X, y = load_dataset(ref)
    return hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()


def _upload_verified(
    store: ObjectStore, bucket: str, key: str, data: bytes, sha256: str, say: Callable[[str], None]
) -> bool:
    """Upload unless an intact copy is there already (True then); verify from the server."""
    existing = store.stat(bucket, key)
    if existing is not None and existing.size == len(data) and existing.sha256 == sha256:
        try:
            store.verify(bucket, key, len(data), sha256)
            say(f"s3://{bucket}/{key} is already there and verified: nothing uploaded")
            return True
        except StoreError as exc:
            say(f"{exc}; uploading it again")
    say(f"uploading {_size(len(data))} to s3://{bucket}/{key}...")
    store.put(bucket, key, data, "application/octet-stream")
    store.verify(bucket, key, len(data), sha256)
    say("verified: size and sha256 match")
    return False


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def export_after_search(checkpoint: Path, say: Callable[[str], None]) -> bool:
    """[export] auto: export from the checkpoint just written; report, never raise; True if done."""
    try:
        config = store_config()
    except ExportError as exc:
        say(f"export skipped: {exc}")
        return False
    try:
        result = export_best(load_search(checkpoint), config, on_progress=say)
    except (ExportError, SearchFileError) as exc:
        say(f"export failed: {exc}")
        say(f"the search and {checkpoint} are intact; retry with: hpo-console export {checkpoint}")
        return False
    say(f"exported trial {result.trial_id} to s3://{result.bucket}/{result.model_key}")
    return True
