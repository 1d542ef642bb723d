"""Wire protocol between console and nodes: framing, message types and validation.

A message is three ZeroMQ frames: ``[b"HPO1", TYPE, JSON]``. Only JSON travels; never pickle. Every
inbound message is checked against a small schema before anyone looks at it, so a hostile or buggy
peer can only make us drop (and count) its frames.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAGIC = b"HPO1"
PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 1 << 20  # larger bodies are dropped (libzmq cuts off peers at 4x this)
LIVENESS_BEATS = 3  # either side presumes the other gone after this many silent heartbeats

# Node -> console
HELLO = "HELLO"
HEARTBEAT = "HEARTBEAT"
PROGRESS = "PROGRESS"
RESULT = "RESULT"
BYE = "BYE"
# Console -> node
WELCOME = "WELCOME"
PING = "PING"  # console heartbeat, so an idle node can tell the console is still there
TASK = "TASK"
ACK = "ACK"
CANCEL = "CANCEL"
DISCONNECT = "DISCONNECT"

NODE_TO_CONSOLE = frozenset({HELLO, HEARTBEAT, PROGRESS, RESULT, BYE})

# Result statuses a node may report.
STATUS_OK = "ok"
STATUS_ERROR = "error"  # the estimator raised: the trial fails at once
STATUS_TIMEOUT = "timeout"  # killed at its deadline: retried
STATUS_CRASH = "crash"  # the child process died: retried
STATUS_CANCELLED = "cancelled"  # stopped on request: handed back
RESULT_STATUSES = frozenset(
    {STATUS_OK, STATUS_ERROR, STATUS_TIMEOUT, STATUS_CRASH, STATUS_CANCELLED}
)

# ACK verdicts.
ACK_RECORDED = "recorded"
ACK_DUPLICATE = "duplicate"
ACK_STALE = "stale"

_NUM = (int, float)
_OPT_NUM = (int, float, type(None))
_OPT_STR = (str, type(None))

# Required fields and their accepted types, per message type. Extra fields are ignored so that a
# newer peer can add information without breaking an older one.
SCHEMAS: dict[str, dict[str, tuple[type, ...] | type]] = {
    HELLO: {
        "node_id": str,
        "protocol": int,
        "slots": int,
        "prefetch": int,
        "host": str,
        "running": list,
        "versions": dict,
    },
    HEARTBEAT: {"node_id": str, "running": list},
    PING: {"search": str},
    PROGRESS: {
        "node_id": str,
        "trial_id": int,
        "lease_id": str,
        "fold": int,
        "folds": int,
        "score": _NUM,
    },
    RESULT: {
        "node_id": str,
        "trial_id": int,
        "lease_id": str,
        "attempt": int,
        "search": str,
        "params": dict,
        "status": str,
        "mean": _OPT_NUM,
        "std": _OPT_NUM,
        "fold_scores": list,
        "fit_time_s": _NUM,
        "error": _OPT_STR,
    },
    BYE: {"node_id": str, "running": list},
    WELCOME: {"protocol": int, "heartbeat_s": _NUM, "search": str},
    TASK: {
        "trial_id": int,
        "attempt": int,
        "lease_id": str,
        "timeout_s": _NUM,
        "estimator": str,
        "params": dict,
        "cv": int,
        "metric": str,
        "seed": int,
        "dataset": dict,
        "search": str,
    },
    ACK: {"trial_id": int, "lease_id": str, "verdict": str},
    CANCEL: {"lease_id": str, "reason": str},
    DISCONNECT: {"reason": str},
}

MAX_ID_LENGTH = 128

# Each item of HELLO/HEARTBEAT `running`: a lease the node still works on, with what a console
# needs to adopt it after a restart (same search, same trial, same params).
HELD_LEASE_FIELDS = ("lease_id", "trial_id", "attempt", "search", "params")
HELD_LEASE_TYPES = (str, int, int, str, dict)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_outcome(msg: Message) -> None:
    """Deeper checks of RESULT and PROGRESS numbers (JSON allows NaN; lists may hold anything)."""
    body = msg.body
    if msg.kind == PROGRESS:
        if not _finite(body["score"]) or not 0 < body["fold"] <= body["folds"] <= 1000:
            raise ProtocolError("PROGRESS with a non-finite score or an impossible fold")
        return
    if body["status"] not in RESULT_STATUSES:
        raise ProtocolError(f"RESULT with unknown status {str(body['status'])[:20]!r}")
    scores = body["fold_scores"]
    if len(scores) > 1000 or not all(_finite(score) for score in scores):
        raise ProtocolError("RESULT fold_scores must be at most 1000 finite numbers")
    if not _finite(body["fit_time_s"]) or body["fit_time_s"] < 0:
        raise ProtocolError("RESULT fit_time_s must be a finite number >= 0")
    if body["status"] == STATUS_OK and not (
        _finite(body["mean"]) and (body["std"] is None or _finite(body["std"]))
    ):
        raise ProtocolError("an ok RESULT needs a finite mean (and std)")


def held_leases(items: list[Any]) -> dict[str, dict[str, Any]]:
    """The well-formed items of a `running` list, by lease id; malformed ones are skipped."""
    held: dict[str, dict[str, Any]] = {}
    for item in items:
        if isinstance(item, dict) and all(
            isinstance(item.get(key), kind) and not isinstance(item.get(key), bool)
            for key, kind in zip(HELD_LEASE_FIELDS, HELD_LEASE_TYPES, strict=True)
        ):
            held[item["lease_id"]] = item
    return held


class ProtocolError(ValueError):
    """An inbound message failed validation; the message is dropped."""


@dataclass(frozen=True, slots=True)
class Message:
    """A validated message: its type and JSON body."""

    kind: str
    body: dict[str, Any]


def encode(kind: str, body: dict[str, Any]) -> list[bytes]:
    """Frames for one message (the caller prepends the routing id on a ROUTER)."""
    return [MAGIC, kind.encode(), json.dumps(body, separators=(",", ":")).encode()]


def decode(frames: list[bytes]) -> Message:
    """Parse and validate frames; raise ProtocolError naming what is wrong."""
    if len(frames) != 3:
        raise ProtocolError(f"expected 3 frames, got {len(frames)}")
    magic, raw_kind, payload = frames
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {bytes(magic[:8])!r}")
    kind = bytes(raw_kind).decode("ascii", errors="replace")
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ProtocolError(f"unknown message type {kind[:20]!r}")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"{kind} body of {len(payload)} bytes exceeds the limit")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"{kind} body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError(f"{kind} body is not a JSON object")
    for field, types in schema.items():
        if field not in body:
            raise ProtocolError(f"{kind} lacks field {field!r}")
        value = body[field]
        # bool is an int subclass in Python; never accept it where a number is meant.
        if isinstance(value, bool) or not isinstance(value, types):
            raise ProtocolError(f"{kind} field {field!r} has the wrong type")
    for id_field in ("node_id", "lease_id"):
        value = body.get(id_field)
        if isinstance(value, str) and not 0 < len(value) <= MAX_ID_LENGTH:
            raise ProtocolError(f"{kind} field {id_field!r} is empty or too long")
    return Message(kind, body)
