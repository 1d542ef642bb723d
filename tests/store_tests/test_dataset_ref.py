"""Datasets by reference: real nodes fetch an uploaded CSV once, cache it, and check its pin."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.datasets import load_iris

from console.__main__ import main
from console.scheduler import events as ev
from console.store.devstore import LocalStore
from node.objectfetch import cached_path, fetch_dataset
from node.s3 import StoreError
from tests.conftest import NodeProcs, Recorder, run_to_end, write_search

pytestmark = pytest.mark.timeout(90)
SPACE = 'max_depth = { type = "choice", values = [2, 3] }'


def iris_csv(path: Path) -> Path:
    X, y = load_iris(return_X_y=True)
    rows = ["sepal_l,sepal_w,petal_l,petal_w,species"]
    rows += [",".join(f"{v:g}" for v in x) + f",{label}" for x, label in zip(X, y, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


def push(csv: Path, url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Upload with the CLI; returns the sha256 it printed in the [dataset] table."""
    capsys.readouterr()
    assert main(["dataset", "push", str(csv), url, "--target", "species"]) == 0
    out = capsys.readouterr().out
    assert f'source = "{url}"' in out and 'target = "species"' in out
    return out.split('sha256 = "')[1].split('"')[0]


def search_on(folder: Path, name: str, url: str, pin: str | None = None) -> Path:
    path = write_search(folder, name=name, estimator="decision_tree", space=SPACE, dataset=url)
    pin_line = f'sha256 = "{pin}"\n' if pin else ""
    # write_search's [dataset] has only a source; add the label column (and the pin).
    text = path.read_text().replace(f'source = "{url}"\n', f'source = "{url}"\n'
                                    f'target = "species"\n{pin_line}')  # fmt: skip
    path.write_text(text)
    return path


@pytest.fixture
def pushed_iris(
    store_env: LocalStore, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    """Iris as a CSV in the session's store, uploaded with the CLI: (its s3:// URL, sha256)."""
    url = f"s3://{bucket}/data/iris.csv"
    return url, push(iris_csv(tmp_path / "iris.csv"), url, capsys)


def test_nodes_fetch_once_and_reuse_the_cache(
    store_env: LocalStore, pushed_iris: tuple[str, str], tmp_path: Path, nodes: NodeProcs
) -> None:
    url, sha256 = pushed_iris
    first = Recorder()
    state = run_to_end(search_on(tmp_path, "ref1", url), tmp_path / "ref1.ckpt.toml", first, nodes)
    assert state == "finished" and len(first.of(ev.TrialScored)) == 2, first.of(ev.TrialFailed)
    cached = cached_path(sha256, tmp_path / "cache")
    assert cached.read_bytes() == (tmp_path / "iris.csv").read_bytes()
    fetched = cached.stat().st_mtime_ns

    # With the object gone from the store, only the cache can serve the pinned second search.
    bucket, key = url.removeprefix("s3://").split("/", 1)
    store_env.config.client().remove_object(bucket, key)
    second = Recorder()
    ckpt = tmp_path / "ref2.ckpt.toml"
    state = run_to_end(search_on(tmp_path, "ref2", url, pin=sha256), ckpt, second, nodes, ("n2",))
    assert state == "finished" and len(second.of(ev.TrialScored)) == 2, second.of(ev.TrialFailed)
    assert cached.stat().st_mtime_ns == fetched  # not downloaded again


def test_a_wrong_pin_fails_the_trial_naming_the_object(
    pushed_iris: tuple[str, str], tmp_path: Path, nodes: NodeProcs
) -> None:
    url, actual = pushed_iris
    wrong = "0" * 64
    recorder = Recorder()
    search = search_on(tmp_path, "pinned", url, pin=wrong)
    state = run_to_end(search, tmp_path / "pinned.ckpt.toml", recorder, nodes)
    assert state == "finished" and recorder.of(ev.TrialScored) == []
    failures = [e for e in recorder.of(ev.TrialFailed) if e.final]
    assert len(failures) == 2
    for failure in failures:
        assert url in failure.error and "does not match its sha256 pin" in failure.error
        assert wrong in failure.error and actual in failure.error


def test_unpinned_fetch_finds_the_cache_by_the_stated_hash(
    pushed_iris: tuple[str, str], bucket: str, tmp_path: Path
) -> None:
    url, sha256 = pushed_iris
    path, digest = fetch_dataset(url, None)
    assert digest == sha256 and path == cached_path(sha256, tmp_path / "cache")
    stamp = path.stat().st_mtime_ns
    assert fetch_dataset(url, None) == (path, sha256) and path.stat().st_mtime_ns == stamp
    path.write_text("damaged in the cache\n")  # a damaged copy is fetched again, not trusted
    assert fetch_dataset(url, sha256) == (path, sha256)
    assert path.read_bytes() == (tmp_path / "iris.csv").read_bytes()
    with pytest.raises(StoreError, match=rf"not found .*{bucket}/missing.csv"):
        fetch_dataset(f"s3://{bucket}/missing.csv", None)
