"""The wire protocol: typed messages, framing, and validation within bounded size and depth."""

from __future__ import annotations

import json

import pytest

from node import protocol as p


def result_body(**changes: object) -> dict:
    body = {
        "node_id": "n1", "trial_id": 3, "lease_id": "ab-1", "attempt": 1, "search": "h",
        "params": {"C": 1.0}, "status": "ok", "mean": 0.9, "std": 0.01,
        "fold_scores": [0.89, 0.91], "fit_time_s": 0.5, "error": None,
    }  # fmt: skip
    return body | changes


def frames(kind: str, body: dict) -> list[bytes]:
    return [p.MAGIC, kind.encode(), json.dumps(body).encode()]


def test_round_trip_gives_the_typed_message() -> None:
    msg = p.decode(frames("RESULT", result_body()))
    assert isinstance(msg, p.Result)
    assert msg.fold_scores == (0.89, 0.91) and msg.mean == 0.9
    encoded = p.encode(msg)
    assert encoded[:2] == [p.MAGIC, b"RESULT"]
    assert p.decode(encoded) == msg


def test_every_message_type_round_trips() -> None:
    held = p.HeldLease("l1", 2, 1, "h", {"C": 1})
    samples = [
        p.Hello("n", p.PROTOCOL_VERSION, 2, 0, "host", (held,), {"sklearn": "1"}),
        p.Heartbeat("n", (held,)),
        p.Progress("n", 1, "l1", 1, 3, 0.5),
        p.Bye("n", ()),
        p.Welcome(1, 0.2, "h"),
        p.Ping("h"),
        p.Task(1, 1, "l1", 10.0, "svc", {"C": 1}, 3, "accuracy", 7, {"source": "x"}, "h"),
        p.Ack(1, "l1", p.ACK_RECORDED),
        p.Cancel("l1", "why"),
        p.Disconnect("why"),
        p.SearchOver("h", "search finished"),
    ]
    assert {type(m) for m in samples} | {p.Result} == set(p.MESSAGE_TYPES)
    for msg in samples:
        assert p.decode(p.encode(msg)) == msg


def test_unknown_fields_are_ignored_and_optional_ones_default() -> None:
    body = {"trial_id": 1, "attempt": 1, "lease_id": "l", "timeout_s": 1, "estimator": "e",
            "params": {}, "cv": 3, "metric": "m", "seed": 1, "dataset": {}, "search": "h",
            "from_the_future": [1, 2]}  # fmt: skip
    task = p.decode(frames("TASK", body))
    assert isinstance(task, p.Task) and task.acks == () and task.timeout_s == 1.0


@pytest.mark.parametrize(
    "raw, reason",
    [
        ([b"HPO1", b"RESULT"], "expected 3 frames"),
        ([b"HPO2", b"RESULT", b"{}"], "bad magic"),
        ([b"HPO1", b"WHAT", b"{}"], "unknown message type"),
        ([b"HPO1", b"RESULT", b"\x80\x03}q"], "not JSON"),
        ([b"HPO1", b"RESULT", b"[]"], "not a JSON object"),
        (frames("RESULT", result_body(mean="0.9")), "wrong type"),
        (frames("RESULT", result_body(attempt=True)), "wrong type"),
        (frames("RESULT", result_body(node_id="")), "empty or too long"),
        (frames("RESULT", result_body(lease_id="x" * 200)), "too long"),
        (frames("RESULT", result_body(fold_scores=[0.9, "x"])), "wrong type"),
        (frames("RESULT", result_body(params={"a": [[[[[[[[[[1]]]]]]]]]]})), "nests too deeply"),
        (frames("HEARTBEAT", {"node_id": "n", "running": ["x"]}), "not an object"),
        (frames("HEARTBEAT", {"node_id": "n", "running": [{"lease_id": "a"}]}), "lacks field"),
        ([b"HPO1", b"RESULT", b'{"a": "' + b"x" * p.MAX_MESSAGE_BYTES + b'"}'], "exceeds"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(raw: list[bytes], reason: str) -> None:
    with pytest.raises(p.ProtocolError, match=reason):
        p.decode(raw)


def test_a_deeply_nested_body_is_refused_not_a_recursion_error() -> None:
    depth = 100_000  # ~200 KB: once enough to end the console with RecursionError
    body = b'{"node_id": "n", "running": ' + b"[" * depth + b"]" * depth + b"}"
    assert len(body) < p.MAX_MESSAGE_BYTES
    with pytest.raises(p.ProtocolError, match=r"nests too deeply|not an object"):
        p.decode([p.MAGIC, b"HEARTBEAT", body])


def test_missing_field_is_named() -> None:
    body = result_body()
    del body["fold_scores"]
    with pytest.raises(p.ProtocolError, match="fold_scores"):
        p.decode(frames("RESULT", body))


@pytest.mark.parametrize(
    "changes",
    [
        {"mean": float("nan")},
        {"mean": None},
        {"std": float("inf")},
        {"fold_scores": [True]},
        {"fold_scores": [float("nan")]},
        {"fit_time_s": -1.0},
        {"status": "great"},
    ],
)
def test_impossible_outcomes_are_refused(changes: dict) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(frames("RESULT", result_body(**changes)))


def test_error_results_need_no_mean() -> None:
    body = result_body(status="error", mean=None, std=None, error="ValueError: bad C")
    assert p.decode(frames("RESULT", body)).error == "ValueError: bad C"


def test_progress_checks() -> None:
    good = {"node_id": "n", "trial_id": 1, "lease_id": "l", "fold": 2, "folds": 5, "score": 0.5}
    assert isinstance(p.decode(frames("PROGRESS", good)), p.Progress)
    for bad in ({"fold": 6}, {"fold": 0}, {"score": float("nan")}):
        with pytest.raises(p.ProtocolError):
            p.decode(frames("PROGRESS", good | bad))


def test_hello_slots_are_bounded() -> None:
    hello = p.Hello("n", 1, 2, 0, "h", (), {})
    body = hello.to_body()
    for bad in ({"slots": 0}, {"slots": 5000}, {"prefetch": -1}):
        with pytest.raises(p.ProtocolError, match="out of range"):
            p.decode(frames("HELLO", body | bad))
