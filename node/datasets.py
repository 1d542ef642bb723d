"""Load a trial's dataset from its reference (sklearn built-in, CSV file or s3:// CSV), cached.

CSV columns come as they are: a column whose every present cell is a number is numeric (missing
cells become NaN); any other column is categorical (strings, missing cells NaN). An all-numeric
table is a float64 matrix, exactly as before; a mixed one is an object matrix for a pipeline's
ColumnTransformer to split by name or dtype.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
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

# Cells read as missing (compared stripped and lower-cased), as pandas' read_csv mostly does.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
NUMERIC, CATEGORICAL = "numeric", "categorical"

Dataset = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Table:
    """Features (columns in `columns` order, each `kinds` numeric or categorical), labels, and
    the group labels when the reference names a group column."""

    X: np.ndarray
    y: np.ndarray
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    groups: np.ndarray | None = None

    @property
    def pair(self) -> Dataset:
        """(X, y), the same tuple object every time (callers cache by identity)."""
        cached = self.__dict__.get("_pair")
        if cached is None:
            cached = self.__dict__["_pair"] = (self.X, self.y)
        return cached


_cache: dict[tuple[Any, ...], Table] = {}


class DatasetError(ValueError):
    """The dataset reference cannot be loaded; the message says why and names the source."""


class DatasetUnavailable(DatasetError):
    """This host cannot get the data (file missing or unreadable, fetch failed): a fault of the
    node, not of the search, once the console has loaded it."""


def clear_cache() -> None:
    """Forget every loaded dataset (for tests)."""
    _cache.clear()


def load_dataset(ref: dict[str, Any]) -> Dataset:
    """Features and labels for a dataset reference {"source", "target", "sha256"}."""
    return load_table(ref).pair


def load_table(ref: dict[str, Any]) -> Table:
    """The dataset `ref` names, with its column names and kinds; `features` / `drop` pick the
    columns, `group` moves one column out into the group labels."""
    if not isinstance(ref, dict) or not isinstance(ref.get("source"), str):
        raise DatasetError(f"dataset reference needs a 'source' string, got {ref!r}")
    source: str = ref["source"]
    target = ref.get("target") or DEFAULT_TARGET
    sha256 = ref.get("sha256")
    shape = (tuple(ref.get("features") or ()), tuple(ref.get("drop") or ()), ref.get("group"))

    if source.startswith("sklearn:"):
        key: tuple[Any, ...] = (source, shape)
        loader = lambda: _load_builtin(source.removeprefix("sklearn:"))  # noqa: E731
    elif source.startswith("file:"):
        path = file_path(source)
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise DatasetUnavailable(f"dataset file not found: {path}") from None
        except OSError as exc:
            raise DatasetUnavailable(f"cannot read dataset file {path}: {exc.strerror}") from None
        # mtime and size in the key: an edited file is reloaded, not served stale.
        key = (source, os.path.abspath(path), target, sha256, stat.st_mtime_ns, stat.st_size)
        key += (shape,)
        loader = lambda: _load_csv(path, target, sha256)  # noqa: E731
    elif source.startswith("s3://"):
        path, digest = _fetch(source, sha256)
        key = (source, digest, target, shape)  # the content hash: a replaced object is reloaded
        loader = lambda: _load_csv(path, target, digest, label=f"dataset {source}")  # noqa: E731
    else:
        raise DatasetError(f"unsupported dataset source {source!r}; use {SUPPORTED_FORMS}")

    cached = _cache.get(key)
    if cached is not None:
        return cached
    table = _pick_columns(loader(), ref, source)
    # Read-only, so nothing can quietly alter the cached copy between trials.
    for array in (table.X, table.y, table.groups):
        if array is not None:
            array.flags.writeable = False
    while len(_cache) >= _CACHE_LIMIT:
        del _cache[next(iter(_cache))]
    _cache[key] = table
    return table


def _pick_columns(table: Table, ref: dict[str, Any], source: str) -> Table:
    """Apply `features` (keep these, in this order), `drop` and `group` to a loaded table."""
    features, drop, group = ref.get("features"), ref.get("drop") or (), ref.get("group")
    if not features and not drop and not group:
        return table
    columns = list(table.columns)
    missing = [
        name for name in [*(features or ()), *drop, *([group] if group else [])]
        if name not in columns
    ]  # fmt: skip
    if missing:
        raise DatasetError(
            f"dataset {source}: no column {', '.join(map(repr, missing))}; "
            f"columns: {', '.join(columns)}"
        )
    keep = [name for name in (features or columns) if name not in drop and name != group]
    if not keep:
        raise DatasetError(f"dataset {source}: no feature columns left after features/drop")
    index = [columns.index(name) for name in keep]
    kinds = [table.kinds[i] for i in index]
    X = table.X[:, index]
    if X.dtype == object and CATEGORICAL not in kinds:
        X = X.astype(np.float64)  # the text columns were dropped: a plain matrix again
    groups = None if not group else np.asarray(table.X[:, columns.index(group)])
    return Table(X, table.y, tuple(keep), tuple(kinds), groups)


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
        if "does not match" in str(exc):
            raise DatasetError(str(exc)) from None  # other bytes than pinned: the data's fault
        raise DatasetUnavailable(str(exc)) from None
    return str(path), digest


def _load_builtin(name: str) -> Table:
    loader_name = BUILTIN_LOADERS.get(name)
    if loader_name is None:
        raise DatasetError(
            f"unknown built-in dataset 'sklearn:{name}'; available: "
            + ", ".join(f"sklearn:{known}" for known in BUILTIN_LOADERS)
        )
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader_name)()
    X = np.asarray(bunch.data, dtype=np.float64)
    columns = tuple(str(name) for name in bunch.feature_names)
    return Table(X, np.asarray(bunch.target), columns, (NUMERIC,) * len(columns))


def _load_csv(path: str, target: str, sha256: str | None, label: str | None = None) -> Table:
    name = label or f"dataset file {path}"  # what errors call it: the file, or the s3:// object
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise DatasetUnavailable(f"cannot read {name}: {exc.strerror}") from None
    # Hash the very bytes we parse, so a file replaced mid-read cannot slip past the pin.
    if sha256:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256.strip().lower():
            # Other bytes than the pin names are the data's problem, on every node alike: the
            # trial fails naming both hashes (the console's pre-flight catches it first).
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
        if label.lower() in MISSING_TOKENS:
            raise DatasetError(
                f"{name}, line {reader.line_num}: target {target!r} is missing ({label!r}); "
                "drop the rows without a label"
            )
        labels.append(label)
        features.append(row)
        lines.append(reader.line_num)
    if not features:
        raise DatasetError(f"{name} has a header but no data rows")

    feature_names = tuple(name for index, name in enumerate(header) if index != target_index)
    X, kinds = _to_matrix(features)
    return Table(X, _to_labels(labels), feature_names, kinds)


def _to_matrix(rows: list[list[str]]) -> tuple[np.ndarray, tuple[str, ...]]:
    """A float64 matrix when every column is numeric (the fast path), else an object matrix
    holding floats in numeric columns and stripped strings in categorical ones (NaN = missing)."""
    try:
        return np.array(rows, dtype=np.float64), (NUMERIC,) * len(rows[0])
    except ValueError:
        pass
    cells = np.array(rows, dtype=object)
    kinds: list[str] = []
    numeric_columns: list[np.ndarray] = []
    for index in range(cells.shape[1]):
        column = [_cell(value) for value in cells[:, index]]
        try:
            numbers = np.array([np.nan if c is None else float(c) for c in column])
        except ValueError:
            kinds.append(CATEGORICAL)
            cells[:, index] = [np.nan if c is None else c for c in column]
            continue
        kinds.append(NUMERIC)
        numeric_columns.append(numbers)
        cells[:, index] = numbers
    if CATEGORICAL not in kinds:
        return np.column_stack(numeric_columns).astype(np.float64), tuple(kinds)
    return cells, tuple(kinds)


def _cell(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in MISSING_TOKENS else value


def _to_labels(labels: list[str]) -> np.ndarray:
    try:
        numbers = np.array(labels, dtype=np.float64)
    except ValueError:
        return np.array(labels)  # string class labels
    if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
        return numbers.astype(np.int64)  # integer class ids (or integral targets)
    return numbers
