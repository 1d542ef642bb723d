"""Frames of the control link: `[b"HPO-OP1", TYPE, JSON]`, JSON only (never pickle).

Operator -> console: HELLO (send me the whole search), CMD {id, name, args}, PING, BYE.
Console -> operator: STATE (a FullState), UPDATE, REPLY {id, reply}, BYE {reason}.
"""

from __future__ import annotations

import json
from typing import Any

from console.view.codec import CodecError, from_data, to_data
from console.view.models import FullState, Reply, Update

PREFIX = b"HPO-OP1"
HELLO, CMD, PING, BYE = b"HELLO", b"CMD", b"PING", b"BYE"
STATE, UPDATE, REPLY = b"STATE", b"UPDATE", b"REPLY"
FROM_OPERATOR = {HELLO, CMD, PING, BYE}
MAX_OPERATOR_MESSAGE = 64 * 1024  # a command is small; anything bigger is not one


class WireError(ValueError):
    """A frame that is not a message of this link (the reason names what is wrong)."""


def frames(kind: bytes, body: Any) -> list[bytes]:
    return [PREFIX, kind, json.dumps(body, separators=(",", ":")).encode()]


def view_frames(message: FullState | Update) -> list[bytes]:
    return frames(STATE if isinstance(message, FullState) else UPDATE, to_data(message))


def parse(parts: list[bytes], allowed: set[bytes] | None = None) -> tuple[bytes, Any]:
    """(type, decoded JSON body) of one message; WireError if it is not one."""
    if len(parts) != 3 or parts[0] != PREFIX:
        raise WireError("not a control-link message (expected 3 frames starting HPO-OP1)")
    kind, raw = parts[1], parts[2]
    if allowed is not None and kind not in allowed:
        raise WireError(f"unknown message type {kind[:20]!r}")
    try:
        return kind, json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"bad JSON: {exc}") from None


def read_view(kind: bytes, body: Any) -> FullState | Update:
    try:
        return from_data(FullState if kind == STATE else Update, body)
    except CodecError as exc:
        raise WireError(str(exc)) from None


def read_reply(body: Any) -> tuple[int, Reply]:
    if not isinstance(body, dict) or not isinstance(body.get("id"), int):
        raise WireError("a REPLY needs an integer id")
    try:
        return body["id"], from_data(Reply, body.get("reply"))
    except CodecError as exc:
        raise WireError(str(exc)) from None
