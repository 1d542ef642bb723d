"""The console's object-store client: verified uploads and downloads with clear, retried errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.s3 import NOT_CONFIGURED, SET_ENV, StoreConfig, StoreError, parse_s3_url, with_retries

SHA256_META = "sha256"  # stored as x-amz-meta-sha256 beside every object we write
CHUNK = 1 << 16

__all__ = [
    "NOT_CONFIGURED",
    "SET_ENV",
    "ObjectInfo",
    "ObjectStore",
    "StoreConfig",
    "StoreError",
    "parse_s3_url",
]


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256: str | None  # as stated in the object's metadata (not yet checked against content)


class ObjectStore:
    """One endpoint; every method raises StoreError with a one-line message naming the object."""

    def __init__(self, config: StoreConfig, on_retry: Callable[[str], None] = lambda _: None):
        self.config = config
        self.on_retry = on_retry
        self._client = config.client()

    def _call(self, what: str, operation: Callable[[], Any]) -> Any:
        return with_retries(operation, self.config, what, self.on_retry)

    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket if it does not exist yet."""
        what = f"checking bucket {bucket!r}"
        if not self._call(what, lambda: self._client.bucket_exists(bucket)):
            self._call(f"creating bucket {bucket!r}", lambda: self._client.make_bucket(bucket))

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        """Size and stated sha256 of s3://bucket/key, or None if there is no such object."""
        try:
            stat = self._call(f"reading s3://{bucket}/{key}", lambda: _stat(self, bucket, key))
        except StoreError as exc:
            if exc.missing:
                return None
            raise
        stated = stat.metadata.get(f"x-amz-meta-{SHA256_META}") or None
        return ObjectInfo(size=stat.size, sha256=stated.lower() if stated else None)

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Upload `data`, recording its sha256 in the object's metadata."""
        sha256 = hashlib.sha256(data).hexdigest()

        def upload() -> None:
            self._client.put_object(
                bucket, key, io.BytesIO(data), len(data), content_type=content_type,
                metadata={SHA256_META: sha256},
            )  # fmt: skip

        self._call(f"uploading s3://{bucket}/{key}", upload)

    def put_file(self, bucket: str, key: str, path: Path, content_type: str) -> str:
        """Upload a local file; returns its sha256."""
        with open(path, "rb") as file:
            sha256 = hashlib.file_digest(file, "sha256").hexdigest()
        size = path.stat().st_size

        def upload() -> None:
            with open(path, "rb") as file:
                self._client.put_object(
                    bucket, key, file, size, content_type=content_type,
                    metadata={SHA256_META: sha256},
                )  # fmt: skip

        self._call(f"uploading {path} to s3://{bucket}/{key}", upload)
        return sha256

    def read(self, bucket: str, key: str) -> bytes:
        """The whole object (small ones: manifests, pointers)."""
        return self._call(f"reading s3://{bucket}/{key}", lambda: _read(self, bucket, key))

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """A JSON object, or None if absent; StoreError if it is not a JSON object."""
        try:
            raw = self.read(bucket, key)
        except StoreError as exc:
            if exc.missing:
                return None
            raise
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise StoreError(f"s3://{bucket}/{key} is not a JSON object")
        return value

    def verify(self, bucket: str, key: str, size: int, sha256: str) -> None:
        """Read the object back from the server and check its size and sha256."""
        url = f"s3://{bucket}/{key}"
        info = self.stat(bucket, key)
        if info is None:
            raise StoreError(f"{url} vanished right after upload on {self.config.url}")
        actual = hashlib.sha256(self.read(bucket, key)).hexdigest()
        if info.size != size or actual != sha256:
            raise StoreError(
                f"{url} failed verification: expected {size} bytes with sha256 {sha256}, "
                f"the server has {info.size} bytes with sha256 {actual}"
            )

    def download_verified(self, bucket: str, key: str, size: int, sha256: str, dest: Path) -> None:
        """Download to `dest` atomically; nothing is written there unless size and sha256 match."""
        url = f"s3://{bucket}/{key}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                digest, got = self._call(f"downloading {url}", lambda: _stream(self, url, out))
                out.flush()
                os.fsync(out.fileno())
            if got != size or digest != sha256:
                raise StoreError(
                    f"{url} failed verification: best.json promises {size} bytes with sha256 "
                    f"{sha256}, downloaded {got} bytes with sha256 {digest}; nothing written"
                )
            os.replace(temp, dest)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _stat(store: ObjectStore, bucket: str, key: str) -> Any:
    return store._client.stat_object(bucket, key)


def _read(store: ObjectStore, bucket: str, key: str) -> bytes:
    response = store._client.get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _stream(store: ObjectStore, url: str, out: Any) -> tuple[str, int]:
    bucket, key = parse_s3_url(url)
    out.seek(0)
    out.truncate()  # a retried download starts over
    digest, size = hashlib.sha256(), 0
    response = store._client.get_object(bucket, key)
    try:
        for chunk in response.stream(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    finally:
        response.close()
        response.release_conn()
    return digest.hexdigest(), size
