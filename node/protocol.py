"""Wire protocol between console and nodes: framing, typed messages and their validation.

A message is three ZeroMQ frames: ``[b"HPO1", TYPE, JSON]``. Only JSON travels; never pickle. Each
message type is a frozen dataclass below; its schema is derived from its fields' annotations, so
the type a field is declared with is the type that is checked. `decode()` returns the typed message
or raises ProtocolError: a hostile or buggy peer can only make us drop (and count) its frames,
never allocate without bound or recurse without bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from node.wire_schema import (  # re-exported: callers catch protocol.ProtocolError
    ProtocolError,
    build,
    field_names,
)

MAGIC = b"HPO1"
PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 1 << 20  # larger bodies are dropped (libzmq cuts off peers at 4x this)
LIVENESS_BEATS = 3  # either side presumes the other gone after this many silent heartbeats

# Result statuses a node may report.
STATUS_OK = "ok"
STATUS_ERROR = "error"  # the estimator raised: the trial fails at once
STATUS_TIMEOUT = "timeout"  # killed at its deadline
STATUS_CRASH = "crash"  # the child process died
STATUS_CANCELLED = "cancelled"  # stopped on request: handed back
STATUS_UNAVAILABLE = "unavailable"  # the node cannot load the data: its fault, not the trial's
_OTHER_ENDS = (STATUS_TIMEOUT, STATUS_CRASH, STATUS_CANCELLED, STATUS_UNAVAILABLE)
RESULT_STATUSES = frozenset({STATUS_OK, STATUS_ERROR, *_OTHER_ENDS})

# ACK verdicts.
ACK_RECORDED = "recorded"
ACK_DUPLICATE = "duplicate"
ACK_STALE = "stale"


class Message:
    """Base of every message type. `KIND` is the type frame; fields are the JSON body."""

    KIND: ClassVar[str] = ""

    def check(self) -> None:
        """Checks across fields, beyond their types (overridden where needed)."""

    def to_body(self) -> dict[str, Any]:
        return {name: _to_json(getattr(self, name)) for name in field_names(type(self))}


@dataclass(frozen=True, slots=True)
class HeldLease:
    """A lease a node works on (or holds a result for), as HELLO and HEARTBEAT list it."""

    lease_id: str
    trial_id: int
    attempt: int
    search: str
    params: dict[str, Any]


# -- node -> console -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello(Message):
    KIND: ClassVar[str] = "HELLO"
    node_id: str
    protocol: int
    slots: int
    prefetch: int
    host: str
    running: tuple[HeldLease, ...]  # includes leases whose result is not yet ACKed
    versions: dict[str, Any]

    def check(self) -> None:
        if not 1 <= self.slots <= 1024 or not 0 <= self.prefetch <= 64:
            raise ProtocolError("HELLO slots or prefetch out of range")


@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    KIND: ClassVar[str] = "HEARTBEAT"
    node_id: str
    running: tuple[HeldLease, ...]


@dataclass(frozen=True, slots=True)
class Progress(Message):
    """One fold of a trial finished."""

    KIND: ClassVar[str] = "PROGRESS"
    node_id: str
    trial_id: int
    lease_id: str
    fold: int
    folds: int
    score: float
    scores: dict[str, Any] = field(default_factory=dict)  # every metric's, when there are several

    def check(self) -> None:
        if not 0 < self.fold <= self.folds <= 1000:
            raise ProtocolError("PROGRESS with an impossible fold")


@dataclass(frozen=True, slots=True)
class Result(Message):
    KIND: ClassVar[str] = "RESULT"
    node_id: str
    trial_id: int
    lease_id: str
    attempt: int
    search: str
    params: dict[str, Any]
    status: str
    mean: float | None
    std: float | None
    fold_scores: tuple[float, ...]
    fit_time_s: float
    error: str | None
    # Which folds `fold_scores` are for (the TASK's `folds`, in order); empty = folds 1..n.
    folds: tuple[int, ...] = ()
    scores: dict[str, Any] = field(default_factory=dict)  # several metrics: {name: fold scores}

    def check(self) -> None:
        if self.status not in RESULT_STATUSES:
            raise ProtocolError(f"RESULT with unknown status {self.status[:20]!r}")
        if len(self.fold_scores) > 1000:
            raise ProtocolError("RESULT fold_scores must be at most 1000 numbers")
        if len(self.folds) > 1000 or any(not 0 < fold <= 1000 for fold in self.folds):
            raise ProtocolError("RESULT folds must be at most 1000 fold numbers in 1..1000")
        if self.folds and len(self.folds) != len(self.fold_scores):
            raise ProtocolError("RESULT folds and fold_scores must be as long as each other")
        if self.fit_time_s < 0:
            raise ProtocolError("RESULT fit_time_s must be >= 0")
        if self.status == STATUS_OK and self.mean is None:
            raise ProtocolError("an ok RESULT needs a mean")


@dataclass(frozen=True, slots=True)
class Bye(Message):
    """The node is stopping; `running` are the leases it hands back."""

    KIND: ClassVar[str] = "BYE"
    node_id: str
    running: tuple[HeldLease, ...]


# -- console -> node -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome(Message):
    KIND: ClassVar[str] = "WELCOME"
    protocol: int
    heartbeat_s: float
    search: str


@dataclass(frozen=True, slots=True)
class Ping(Message):
    """The console's heartbeat, so an idle node can tell the console is still there."""

    KIND: ClassVar[str] = "PING"
    search: str


@dataclass(frozen=True, slots=True)
class Task(Message):
    KIND: ClassVar[str] = "TASK"
    trial_id: int
    attempt: int
    lease_id: str
    timeout_s: float
    estimator: str
    params: dict[str, Any]
    cv: int
    metric: str
    seed: int
    dataset: dict[str, Any]
    search: str
    acks: tuple[str, ...] = ()  # ACKs riding on the task: saves a send and a wake-up
    # The 1-based CV folds this unit covers, in the splitter's order; empty = every fold.
    folds: tuple[int, ...] = ()
    pipeline: dict[str, Any] = field(default_factory=dict)  # {"steps", "columns"}; {}: bare
    splitter: dict[str, Any] = field(default_factory=dict)  # {"kind", "n_splits"...}; {}: `cv`
    scoring: dict[str, Any] = field(default_factory=dict)  # {"metrics", "rank"...}; {}: `metric`

    def check(self) -> None:
        if len(self.folds) > 1000 or any(not 0 < fold <= 1000 for fold in self.folds):
            raise ProtocolError("TASK folds must be at most 1000 fold numbers in 1..1000")


@dataclass(frozen=True, slots=True)
class Ack(Message):
    KIND: ClassVar[str] = "ACK"
    trial_id: int
    lease_id: str
    verdict: str


@dataclass(frozen=True, slots=True)
class Cancel(Message):
    KIND: ClassVar[str] = "CANCEL"
    lease_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Disconnect(Message):
    """Leave and do not come back (e.g. a protocol this console does not speak)."""

    KIND: ClassVar[str] = "DISCONNECT"
    reason: str


@dataclass(frozen=True, slots=True)
class SearchOver(Message):
    """The search finished and the console is closing: wait quietly for the next one."""

    KIND: ClassVar[str] = "DONE"
    search: str
    reason: str


MESSAGE_TYPES: tuple[type[Message], ...] = (
    Hello, Heartbeat, Progress, Result, Bye,
    Welcome, Ping, Task, Ack, Cancel, Disconnect, SearchOver,
)  # fmt: skip
NODE_TO_CONSOLE: tuple[type[Message], ...] = (Hello, Heartbeat, Progress, Result, Bye)
BY_KIND: dict[str, type[Message]] = {cls.KIND: cls for cls in MESSAGE_TYPES}


# -- encoding --------------------------------------------------------------------------------


def encode(msg: Message) -> list[bytes]:
    """Frames for one message (the caller prepends the routing id on a ROUTER)."""
    return [MAGIC, msg.KIND.encode(), json.dumps(msg.to_body(), separators=(",", ":")).encode()]


def _to_json(value: Any) -> Any:
    if isinstance(value, HeldLease):
        return {name: getattr(value, name) for name in field_names(HeldLease)}
    if isinstance(value, tuple) and value and isinstance(value[0], HeldLease):
        return [_to_json(item) for item in value]
    return value


# -- decoding --------------------------------------------------------------------------------


def decode(frames: list[bytes]) -> Message:
    """Parse and validate frames into a typed message; ProtocolError names what is wrong."""
    if len(frames) != 3:
        raise ProtocolError(f"expected 3 frames, got {len(frames)}")
    magic, raw_kind, payload = frames
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {bytes(magic[:8])!r}")
    kind = bytes(raw_kind[:32]).decode("ascii", errors="replace")
    cls = BY_KIND.get(kind)
    if cls is None:
        raise ProtocolError(f"unknown message type {kind[:20]!r}")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"{kind} body of {len(payload)} bytes exceeds the limit")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"{kind} body is not JSON: {exc}") from None
    except RecursionError:  # json's parser recurses per nesting level
        raise ProtocolError(f"{kind} body nests too deeply") from None
    if not isinstance(body, dict):
        raise ProtocolError(f"{kind} body is not a JSON object")
    msg = build(cls, body, kind)
    msg.check()
    return msg
