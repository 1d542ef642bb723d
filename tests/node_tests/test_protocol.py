"""The wire protocol: framing, validation, and the deeper checks of outcomes."""

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


def test_round_trip() -> None:
    frames = p.encode(p.RESULT, result_body())
    assert frames[0] == p.MAGIC and frames[1] == b"RESULT"
    msg = p.decode(frames)
    assert msg == p.Message(p.RESULT, result_body())


@pytest.mark.parametrize(
    "frames, reason",
    [
        ([b"HPO1", b"RESULT"], "expected 3 frames"),
        ([b"HPO2", b"RESULT", b"{}"], "bad magic"),
        ([b"HPO1", b"WHAT", b"{}"], "unknown message type"),
        ([b"HPO1", b"RESULT", b"\x80\x03}q"], "not JSON"),
        ([b"HPO1", b"RESULT", b"[]"], "not a JSON object"),
        ([b"HPO1", b"RESULT", json.dumps(result_body(mean="0.9")).encode()], "wrong type"),
        ([b"HPO1", b"RESULT", json.dumps(result_body(attempt=True)).encode()], "wrong type"),
        ([b"HPO1", b"RESULT", json.dumps(result_body(node_id="")).encode()], "empty or too long"),
        ([b"HPO1", b"RESULT", json.dumps(result_body(lease_id="x" * 200)).encode()], "too long"),
        ([b"HPO1", b"RESULT", b'{"a": "' + b"x" * p.MAX_MESSAGE_BYTES + b'"}'], "exceeds"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frames: list[bytes], reason: str) -> None:
    with pytest.raises(p.ProtocolError, match=reason):
        p.decode(frames)


def test_missing_field_is_named() -> None:
    body = result_body()
    del body["fold_scores"]
    with pytest.raises(p.ProtocolError, match="fold_scores"):
        p.decode(p.encode(p.RESULT, body))


@pytest.mark.parametrize(
    "changes",
    [
        {"mean": float("nan")},
        {"mean": None},
        {"std": float("inf")},
        {"fold_scores": [0.9, "x"]},
        {"fold_scores": [True]},
        {"fit_time_s": -1.0},
        {"status": "great"},
    ],
)
def test_outcome_checks_refuse_impossible_numbers(changes: dict) -> None:
    msg = p.decode(p.encode(p.RESULT, result_body(**changes)))
    with pytest.raises(p.ProtocolError):
        p.check_outcome(msg)


def test_error_results_need_no_mean() -> None:
    body = result_body(status="error", mean=None, std=None, error="ValueError: bad C")
    p.check_outcome(p.decode(p.encode(p.RESULT, body)))


def test_progress_checks() -> None:
    good = {"node_id": "n", "trial_id": 1, "lease_id": "l", "fold": 2, "folds": 5, "score": 0.5}
    p.check_outcome(p.decode(p.encode(p.PROGRESS, good)))
    for bad in ({"fold": 6}, {"fold": 0}, {"score": float("nan")}):
        with pytest.raises(p.ProtocolError):
            p.check_outcome(p.decode(p.encode(p.PROGRESS, good | bad)))


def test_held_leases_keeps_only_well_formed_items() -> None:
    good = {"lease_id": "a", "trial_id": 1, "attempt": 1, "search": "h", "params": {}}
    items = [good, {"lease_id": "b"}, "c", {**good, "lease_id": "d", "trial_id": True}, None]
    assert p.held_leases(items) == {"a": good}
