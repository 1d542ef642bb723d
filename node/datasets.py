"""Load a trial's dataset from its reference (sklearn built-in, CSV file or s3:// CSV), cached."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from typing import Any

import numpy as np

BUILTIN_LOADERS = {
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",
    "breast_cancer": "load_breast_cancer",
    "diabetes": "load_diabetes",  # regression
}
SUPPORTED_FORMS = (
    f"sklearn:{'|'.join(BUILTIN_LOADERS)}, file:PATH.csv (relative to the working folder) "
    "or s3://bucket/key.csv"
)
DEFAULT_TARGET = "target"
_CACHE_LIMIT = 4  # a search uses one dataset; a few entries cover retries across searches

Dataset = tuple[np.ndarray, np.ndarray]
_cache: dict[tuple[Any, ...], Dataset] = {}


class DatasetError(ValueError):
    """The dataset reference cannot be loaded; the message says why and names the source."""


def clear_cache() -> None:
    """Forget every loaded dataset (for tests)."""
    _cache.clear()


def load_dataset(ref: dict[str, Any]) -> Dataset:
    """Features and labels for a dataset reference {"source", "target", "sha256"}."""
    if not isinstance(ref, dict) or not isinstance(ref.get("source"), str):
        raise DatasetError(f"dataset reference needs a 'source' string, got {ref!r}")
    source: str = ref["source"]
    target = ref.get("target") or DEFAULT_TARGET
    sha256 = ref.get("sha256")

    if source.startswith("sklearn:"):
        key: tuple[Any, ...] = (source,)
        loader = lambda: _load_builtin(source.removeprefix("sklearn:"))  # noqa: E731
    elif source.startswith("file:"):
        path = file_path(source)
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise DatasetError(f"dataset file not found: {path}") from None
        except OSError as exc:
            raise DatasetError(f"cannot read dataset file {path}: {exc.strerror}") from None
        # mtime and size in the key: an edited file is reloaded, not served stale.
        key = (source, os.path.abspath(path), target, sha256, stat.st_mtime_ns, stat.st_size)
        loader = lambda: _load_csv(path, target, sha256)  # noqa: E731
    elif source.startswith("s3://"):
        path, digest = _fetch(source, sha256)
        key = (source, digest, target)  # the content hash: a replaced object is reloaded
        loader = lambda: _load_csv(path, target, digest, label=f"dataset {source}")  # noqa: E731
    else:
        raise DatasetError(f"unsupported dataset source {source!r}; use {SUPPORTED_FORMS}")

    cached = _cache.get(key)
    if cached is not None:
        return cached
    X, y = loader()
    # Read-only, so nothing can quietly alter the cached copy between trials.
    X.flags.writeable = False
    y.flags.writeable = False
    while len(_cache) >= _CACHE_LIMIT:
        del _cache[next(iter(_cache))]
    dataset = _cache[key] = (X, y)
    return dataset


def file_path(source: str) -> str:
    path = source.removeprefix("file:")
    if path.startswith("//"):  # file:///abs/path.csv
        path = path[2:]
    if not path:
        raise DatasetError(f"dataset source {source!r} names no file; use file:PATH.csv")
    return path


def _fetch(source: str, sha256: str | None) -> tuple[str, str]:
    """The object's local copy (downloaded once, then cached by content hash) and its sha256."""
    from node.objectfetch import fetch_dataset
    from node.s3 import StoreError

    try:
        path, digest = fetch_dataset(source, sha256)
    except StoreError as exc:
        raise DatasetError(str(exc)) from None
    return str(path), digest


def _load_builtin(name: str) -> Dataset:
    loader_name = BUILTIN_LOADERS.get(name)
    if loader_name is None:
        raise DatasetError(
            f"unknown built-in dataset 'sklearn:{name}'; available: "
            + ", ".join(f"sklearn:{known}" for known in BUILTIN_LOADERS)
        )
    import sklearn.datasets

    X, y = getattr(sklearn.datasets, loader_name)(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _load_csv(path: str, target: str, sha256: str | None, label: str | None = None) -> Dataset:
    name = label or f"dataset file {path}"  # what errors call it: the file, or the s3:// object
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise DatasetError(f"cannot read {name}: {exc.strerror}") from None
    # Hash the very bytes we parse, so a file replaced mid-read cannot slip past the pin.
    if sha256:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256.strip().lower():
            raise DatasetError(
                f"{name} does not match its sha256 pin: expected {sha256}, actual {actual}"
            )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name} is not UTF-8 text: {exc}") from None
    if not text.strip():
        raise DatasetError(f"{name} is empty")

    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader)]
    if header.count(target) != 1:
        problem = "is missing" if target not in header else "appears more than once"
        raise DatasetError(
            f"{name}: target column {target!r} {problem}; columns: {', '.join(header)}"
        )
    if len(header) < 2:
        raise DatasetError(f"{name} has no feature columns besides {target!r}")
    target_index = header.index(target)

    features: list[list[str]] = []
    labels: list[str] = []
    lines: list[int] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines, e.g. a trailing newline
        if len(row) != len(header):
            raise DatasetError(
                f"{name}, line {reader.line_num}: {len(row)} values, "
                f"but the header has {len(header)} columns"
            )
        label = row.pop(target_index).strip()
        if not label:
            raise DatasetError(f"{name}, line {reader.line_num}: empty {target!r}")
        labels.append(label)
        features.append(row)
        lines.append(reader.line_num)
    if not features:
        raise DatasetError(f"{name} has a header but no data rows")

    feature_names = [name for index, name in enumerate(header) if index != target_index]
    return _to_floats(name, features, feature_names, lines), _to_labels(labels)


def _to_floats(name: str, rows: list[list[str]], names: list[str], lines: list[int]) -> np.ndarray:
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        pass
    # The fast conversion failed; find the first bad cell to say exactly where it is.
    for row, line in zip(rows, lines, strict=True):
        for cell, column in zip(row, names, strict=True):
            try:
                float(cell)
            except ValueError:
                raise DatasetError(
                    f"{name}, line {line}, column {column!r}: {cell!r} is not a number"
                ) from None
    raise DatasetError(f"{name}: feature values are not all numbers")


def _to_labels(labels: list[str]) -> np.ndarray:
    try:
        numbers = np.array(labels, dtype=np.float64)
    except ValueError:
        return np.array(labels)  # string class labels
    if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
        return numbers.astype(np.int64)  # integer class ids (or integral targets)
    return numbers
