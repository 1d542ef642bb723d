"""Fetch an s3:// dataset once into a local cache keyed by its sha256, shared by every search."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from node.s3 import NOT_CONFIGURED, StoreConfig, StoreError, parse_s3_url, with_retries

SHA256_META = "sha256"  # x-amz-meta-sha256, written by `hpo-console dataset push`
CHUNK = 1 << 16
log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """HPO_CACHE_DIR, else ~/.cache/zmq-hpo."""
    configured = os.environ.get("HPO_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "zmq-hpo"


def cached_path(sha256: str, folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / "objects" / f"{sha256}.csv"


def fetch_dataset(url: str, pin: str | None, config: StoreConfig | None = None) -> tuple[Path, str]:
    """(local path, sha256) of the object at `url`, downloading it only if the cache lacks it.

    A pinned object already in the cache needs no network at all; otherwise the object's stated
    sha256 (from `dataset push`) or its ETag find the cached copy. Raises StoreError.
    """
    bucket, key = parse_s3_url(url)
    folder = cache_dir()
    if pin and _is_intact(cached_path(pin, folder), pin):
        return cached_path(pin, folder), pin
    config = config or StoreConfig.from_env()
    if config is None:
        raise StoreError(f"cannot fetch dataset {url}: {NOT_CONFIGURED}")
    client = config.client()
    stat = with_retries(lambda: client.stat_object(bucket, key), config, f"reading {url}")
    stated = (stat.metadata.get(f"x-amz-meta-{SHA256_META}") or "").lower() or None
    ref_file = folder / "refs" / _ref_name(config, url, stat.etag, stat.size)
    known = stated or _read_text(ref_file)
    if known and _is_intact(cached_path(known, folder), known):
        _check_pin(url, pin, known)
        return cached_path(known, folder), known
    # Two trial slots on one machine may ask together: one downloads, the other waits.
    with _locked(folder / "locks" / f"{_ref_name(config, url, '', 0)}.lock"):
        if known and _is_intact(cached_path(known, folder), known):
            _check_pin(url, pin, known)
            return cached_path(known, folder), known
        actual = _download(client, config, bucket, key, url, folder)
    if stated and actual != stated:
        raise StoreError(
            f"dataset {url} does not match the sha256 stored with it: "
            f"expected {stated}, downloaded {actual}"
        )
    _check_pin(url, pin, actual)
    _write_text(ref_file, actual)
    return cached_path(actual, folder), actual


def _download(client, config: StoreConfig, bucket: str, key: str, url: str, folder: Path) -> str:
    """Stream the object into the cache under its own sha256; returns that sha256."""
    objects = folder / "objects"
    objects.mkdir(parents=True, exist_ok=True)

    def attempt() -> tuple[str, str, int]:
        digest = hashlib.sha256()
        size = 0
        handle, temp = tempfile.mkstemp(dir=objects, prefix=".part-")
        response = client.get_object(bucket, key)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in response.stream(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except BaseException:
            os.unlink(temp)
            raise
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest(), temp, size

    actual, temp, size = with_retries(attempt, config, f"downloading {url}")
    os.replace(temp, cached_path(actual, folder))
    log.info("fetched %s (%d bytes, sha256 %s) into %s", url, size, actual, objects)
    return actual


def _check_pin(url: str, pin: str | None, actual: str) -> None:
    if pin and pin.lower() != actual:
        raise StoreError(
            f"dataset {url} does not match its sha256 pin: expected {pin.lower()}, actual {actual}"
        )


def _is_intact(path: Path, sha256: str) -> bool:
    """The cached file exists and still hashes to its name (a damaged copy is fetched again)."""
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest() == sha256
    except OSError:
        return False


def _ref_name(config: StoreConfig, url: str, etag: str | None, size: int) -> str:
    """A file name for 'this object as it is now on this endpoint'."""
    return hashlib.sha256(f"{config.url}|{url}|{etag}|{size}".encode()).hexdigest()[:32]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(text)
    os.replace(temp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
