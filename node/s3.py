"""Object-store basics shared by nodes and the console: config from env, clear errors, retries."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from minio import Minio

SET_ENV = (
    "set MINIO_ENDPOINT (host:port), MINIO_ACCESS_KEY, MINIO_SECRET_KEY"
    " and, for TLS, MINIO_SECURE=1"
)
NOT_CONFIGURED = f"the object store is not configured: {SET_ENV}"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
RETRY_DELAYS_S = (0.5, 1.0, 2.0)  # capped backoff: 4 tries over ~3.5 s, then give up
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
# S3 error codes that mean "who you are" or "what you may do": retrying cannot help.
_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken")
_MISSING_CODES = ("NoSuchKey", "NoSuchBucket", "NoSuchObject")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

T = TypeVar("T")


class StoreError(Exception):
    """An object-store operation failed; str() is one line naming the endpoint and object."""

    def __init__(self, message: str, *, retryable: bool = False, missing: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.missing = missing


@dataclass(frozen=True)
class StoreConfig:
    """Where the object store is and who we are there; only ever read from the environment."""

    endpoint: str  # host:port, no scheme
    access_key: str
    secret_key: str
    secure: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreConfig | None:
        """The MINIO_* settings, or None when MINIO_ENDPOINT is unset (export not configured)."""
        env = os.environ if env is None else env
        endpoint = env.get("MINIO_ENDPOINT", "").strip()
        if not endpoint:
            return None
        secure_text = env.get("MINIO_SECURE", "").strip().lower()
        if secure_text not in _TRUE + _FALSE:
            raise StoreError(f"MINIO_SECURE={secure_text!r}: expected 1/true/yes or 0/false/no")
        secure = secure_text in _TRUE
        # Accept a URL too (http://host:port): people paste what their browser shows.
        for scheme, is_tls in (("https://", True), ("http://", False)):
            if endpoint.startswith(scheme):
                endpoint, secure = endpoint.removeprefix(scheme), is_tls
        endpoint = endpoint.rstrip("/")
        if not endpoint or "/" in endpoint:
            raise StoreError(f"MINIO_ENDPOINT={env['MINIO_ENDPOINT']!r}: expected host:port")
        return cls(
            endpoint=endpoint,
            access_key=env.get("MINIO_ACCESS_KEY", ""),
            secret_key=env.get("MINIO_SECRET_KEY", ""),
            secure=secure,
        )

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def client(self, read_timeout_s: float = READ_TIMEOUT_S) -> Minio:
        """A client without urllib3's own retries: `with_retries` decides, and says so."""
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=read_timeout_s),
            retries=False,
            maxsize=4,
        )
        return Minio(
            self.endpoint,
            access_key=self.access_key or None,
            secret_key=self.secret_key or None,
            secure=self.secure,
            http_client=http,
        )


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of s3://bucket/key; StoreError if either part is missing or malformed."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket or not key or key.endswith("/"):
        raise StoreError(f"{url!r}: expected s3://BUCKET/KEY")
    if not _BUCKET.fullmatch(bucket):
        raise StoreError(f"{url!r}: {bucket!r} is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
    return bucket, key


def store_error(exc: BaseException, config: StoreConfig, what: str) -> StoreError:
    """Translate a client exception into one clear line; `what` names the bucket/object."""
    from minio.error import InvalidResponseError, S3Error, ServerError
    from urllib3.exceptions import HTTPError

    where = f"object store {config.url}"
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, S3Error):
        if exc.code in _CREDENTIAL_CODES:
            return StoreError(
                f"{where} rejected the credentials ({exc.code}) while {what}; "
                "check MINIO_ACCESS_KEY and MINIO_SECRET_KEY"
            )
        if exc.code == "AccessDenied":
            return StoreError(f"{where}: access denied while {what}; the key lacks the right")
        if exc.code in _MISSING_CODES:
            return StoreError(f"{where}: not found ({exc.code}) while {what}", missing=True)
        return StoreError(f"{where}: {exc.code} while {what}: {exc.message}")
    if isinstance(exc, ServerError):
        return StoreError(f"{where}: server error {exc.status_code} while {what}", retryable=True)
    if isinstance(exc, InvalidResponseError):
        return StoreError(f"{where} does not answer like an S3 server while {what}")
    if isinstance(exc, HTTPError | OSError):
        reason = getattr(exc, "reason", None) or exc
        return StoreError(f"cannot reach {where} while {what}: {_short(reason)}", retryable=True)
    return StoreError(f"{where}: {type(exc).__name__} while {what}: {_short(exc)}")


def with_retries(
    operation: Callable[[], T],
    config: StoreConfig,
    what: str,
    on_retry: Callable[[str], None] = lambda _: None,
    delays: tuple[float, ...] = RETRY_DELAYS_S,
) -> T:
    """Run `operation`, retrying only failures that may pass (unreachable, 5xx)."""
    for attempt in range(len(delays) + 1):
        try:
            return operation()
        except Exception as exc:
            error = store_error(exc, config, what)
            if not error.retryable or attempt == len(delays):
                raise error from None
            on_retry(f"{error}; retrying in {delays[attempt]:g} s")
            time.sleep(delays[attempt])
    raise AssertionError("unreachable")


def _short(reason: object) -> str:
    """urllib3 nests the useful part ('Connection refused') inside long reprs; keep the tail."""
    text = str(reason)
    if "Errno" in text:
        text = text[text.rindex("[Errno") :].rstrip("')\"")
    return text.splitlines()[0][:200] if text else type(reason).__name__
