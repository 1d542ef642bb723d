"""Tests for dataset loading by reference: built-ins, CSV files, pins, errors and the cache."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from node.datasets import DatasetError, clear_cache, load_dataset, load_table


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def ref(source: str, target: str | None = None, sha256: str | None = None, **more: object) -> dict:
    return {"source": source, "target": target, "sha256": sha256, **more}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "shape", "n_labels"),
    [("iris", (150, 4), 3), ("wine", (178, 13), 3), ("digits", (1797, 64), 10),
     ("breast_cancer", (569, 30), 2), ("diabetes", (442, 10), None)],
)  # fmt: skip
def test_builtin_datasets(name: str, shape: tuple[int, int], n_labels: int | None) -> None:
    X, y = load_dataset(ref(f"sklearn:{name}"))
    assert X.shape == shape
    assert X.dtype == np.float64
    assert len(y) == shape[0]
    if n_labels is None:  # diabetes: a continuous regression target
        assert len(np.unique(y)) > 100
    else:
        assert len(np.unique(y)) == n_labels


def test_unknown_builtin_lists_the_available_ones() -> None:
    with pytest.raises(DatasetError, match="sklearn:iris") as caught:
        load_dataset(ref("sklearn:mnist"))
    assert "sklearn:mnist" in str(caught.value)


def test_csv_with_string_labels(tmp_path: Path) -> None:
    text = "a,species,b\n1.5,setosa,2\n3,virginica,-4e1\n0,setosa,nan\n"
    path = write(tmp_path / "flowers.csv", text)
    X, y = load_dataset(ref(f"file:{path}", target="species"))
    assert X.shape == (3, 2)
    np.testing.assert_array_equal(X[:2], [[1.5, 2.0], [3.0, -40.0]])
    assert np.isnan(X[2, 1])
    assert list(y) == ["setosa", "virginica", "setosa"]


def test_csv_default_target_column_and_integer_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "x1,x2,target\n1,2,0\n3,4,1\n\n")
    X, y = load_dataset(ref(f"file:{path}"))
    assert X.shape == (2, 2)
    assert y.dtype == np.int64
    assert list(y) == [0, 1]


def test_csv_float_labels_stay_floats(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "x,target\n1,0.5\n2,1.25\n")
    _, y = load_dataset(ref(f"file:{path}"))
    assert y.dtype == np.float64
    assert list(y) == [0.5, 1.25]


def test_relative_path_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "rel.csv", "x,target\n1,a\n2,b\n")
    monkeypatch.chdir(tmp_path)
    X, _ = load_dataset(ref("file:rel.csv"))
    assert X.shape == (2, 1)


def test_sha256_pin_match_and_mismatch(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "x,target\n1,a\n2,b\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    X, _ = load_dataset(ref(f"file:{path}", sha256=digest.upper()))
    assert X.shape == (2, 1)
    wrong = "0" * 64
    with pytest.raises(DatasetError) as caught:
        load_dataset(ref(f"file:{path}", sha256=wrong))
    message = str(caught.value)
    assert str(path) in message
    assert f"expected {wrong}" in message
    assert f"actual {digest}" in message


def test_missing_target_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "x1,x2,label\n1,2,a\n")
    with pytest.raises(DatasetError, match="'target' is missing") as caught:
        load_dataset(ref(f"file:{path}"))
    assert "x1, x2, label" in str(caught.value)
    assert str(path) in str(caught.value)


def test_text_column_becomes_categorical(tmp_path: Path) -> None:
    # CSV as it comes: a column with text is categorical, not an error (issue 11).
    path = write(tmp_path / "n.csv", "x1,x2,target\n1,2,a\n3,oops,b\n")
    table = load_table(ref(f"file:{path}"))
    assert table.columns == ("x1", "x2")
    assert table.kinds == ("numeric", "categorical")
    assert table.X.dtype == object
    assert list(table.X[:, 1]) == ["2", "oops"]
    assert list(table.X[:, 0]) == [1.0, 3.0]


def test_empty_feature_cell_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "x1,x2,target\n1,,a\n2,NA,b\n3,4,a\n")
    X, _ = load_dataset(ref(f"file:{path}"))
    assert X.dtype == np.float64
    assert np.isnan(X[0, 1]) and np.isnan(X[1, 1]) and X[2, 1] == 4.0


def test_missing_target_value_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "x1,target\n1,a\n2,\n")
    with pytest.raises(DatasetError, match="line 3: target 'target' is missing"):
        load_dataset(ref(f"file:{path}"))


def test_features_drop_and_group(tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", "id,a,b,site,target\n1,1,x,s1,0\n2,2,y,s2,1\n")
    table = load_table(ref(f"file:{path}", features=["b", "a", "site"], group="site"))
    assert table.columns == ("b", "a")
    assert list(table.groups) == ["s1", "s2"]
    table = load_table(ref(f"file:{path}", drop=["id", "b"]))
    assert table.columns == ("a", "site") and table.kinds == ("numeric", "categorical")
    with pytest.raises(DatasetError, match="no column 'nope'"):
        load_table(ref(f"file:{path}", drop=["nope"]))


def test_row_with_wrong_number_of_values(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", "x1,x2,target\n1,2,a\n1,a\n")
    with pytest.raises(DatasetError, match="line 3: 2 values"):
        load_dataset(ref(f"file:{path}"))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(DatasetError, match="not found") as caught:
        load_dataset(ref(f"file:{path}"))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"), [("", "is empty"), ("  \n", "is empty"), ("x,target\n", "no data rows")]
)
def test_empty_files(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path / "empty.csv", text)
    with pytest.raises(DatasetError, match=problem) as caught:
        load_dataset(ref(f"file:{path}"))
    assert str(path) in str(caught.value)


def test_unknown_scheme_lists_supported_forms() -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset(ref("http://example.com/data.csv"))
    message = str(caught.value)
    for form in ("sklearn:", "file:", "s3://"):
        assert form in message


def test_s3_without_a_configured_store_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINIO_ENDPOINT", raising=False)
    with pytest.raises(DatasetError, match=r"s3://bucket/key.csv: .*set MINIO_ENDPOINT"):
        load_dataset(ref("s3://bucket/key.csv"))


def test_malformed_reference() -> None:
    with pytest.raises(DatasetError, match="source"):
        load_dataset({"target": "y"})


def test_cache_hit_returns_the_same_object(tmp_path: Path) -> None:
    assert load_dataset(ref("sklearn:iris")) is load_dataset(ref("sklearn:iris"))
    path = write(tmp_path / "c.csv", "x,target\n1,a\n2,b\n")
    first = load_dataset(ref(f"file:{path}"))
    assert load_dataset(ref(f"file:{path}")) is first
    clear_cache()
    assert load_dataset(ref(f"file:{path}")) is not first


def test_cached_arrays_are_read_only() -> None:
    X, y = load_dataset(ref("sklearn:wine"))
    with pytest.raises(ValueError):
        X[0, 0] = 1.0
    with pytest.raises(ValueError):
        y[0] = 1


def test_edited_file_is_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "x,target\n1,a\n2,b\n")
    _, first_y = load_dataset(ref(f"file:{path}"))
    stat = path.stat()
    write(path, "x,target\n1,a\n2,c\n")  # same size: only the mtime tells them apart
    # Set the mtime explicitly, since a coarse file-system clock may not have moved.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    _, second_y = load_dataset(ref(f"file:{path}"))
    assert list(second_y) == ["a", "c"]
    assert list(first_y) == ["a", "b"]
