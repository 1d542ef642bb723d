"""A hostile peer on the console's port: every bad frame is dropped and counted."""

from __future__ import annotations

import asyncio
import json
import pickle
import socket
from pathlib import Path

import pytest
import zmq

from console.scheduler import events as ev
from node import protocol as p
from tests.conftest import NodeProcs, Recorder, start_search, wait_for, write_search

pytestmark = pytest.mark.timeout(120)


def _impossible_result(**changes: object) -> dict:
    """A RESULT that passes the schema but not the outcome checks (given the changes)."""
    body = {
        "node_id": "x", "trial_id": 0, "lease_id": "l", "attempt": 1, "search": "s",
        "params": {}, "status": "ok", "mean": 0.5, "std": 0.0, "fold_scores": [],
        "fit_time_s": 0.1, "error": None,
    }  # fmt: skip
    return body | changes


BAD_MESSAGES: list[list[bytes]] = [
    [b"garbage"],  # one frame
    [b"\x00\xff" * 50, b"", b""],  # wrong magic
    [p.MAGIC, b"RESULT"],  # truncated
    [p.MAGIC, b"RESULT", b'{"node_id": "x", "trial_id": 0'],  # truncated JSON
    [p.MAGIC, b"HELLO", b"[1, 2, 3]"],  # not an object
    [p.MAGIC, b"HELLO", b'{"node_id": "x"}'],  # missing fields
    [p.MAGIC, b"NOPE", b"{}"],  # unknown type
    [p.MAGIC, b"TASK", b"{}"],  # a console-to-node type
    [p.MAGIC, b"RESULT", pickle.dumps({"trial_id": 0})],  # pickle, never unpickled
    [pickle.dumps(["HPO1", "RESULT", {}])],
    [
        p.MAGIC,
        b"HELLO",
        b'{"node_id": "x", "protocol": 1, "slots": true, "prefetch": 0, '
        b'"host": "h", "running": [], "versions": {}}',
    ],  # bool as int
    [p.MAGIC, b"HEARTBEAT", b'{"node_id": "", "running": []}'],  # empty id
    # Well-formed RESULTs with impossible numbers: JSON allows NaN, lists may hold anything.
    [p.MAGIC, b"RESULT", json.dumps(_impossible_result(mean=float("nan"))).encode()],
    [p.MAGIC, b"RESULT", json.dumps(_impossible_result(fold_scores=["x"])).encode()],
    # A HEARTBEAT nesting 100,000 arrays (~200 KB): once it ended the console (RecursionError).
    [
        p.MAGIC,
        b"HEARTBEAT",
        b'{"node_id": "x", "running": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
]


def test_garbage_truncated_oversized_and_pickle_frames_are_dropped(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(
        tmp_path,
        strategy="random",
        max_trials=12,
        space='seconds = { type = "float", low = 0.05, high = 0.1 }',
    )
    recorder = Recorder()

    async def scenario():
        scheduler, task = await start_search(
            search, tmp_path / "runs" / "t.toml", recorder, nodes, ("good",), slots=2
        )
        ctx = zmq.Context.instance()
        hostile = ctx.socket(zmq.DEALER)
        hostile.setsockopt(zmq.LINGER, 0)
        hostile.connect(scheduler.endpoint)
        for frames in BAD_MESSAGES:
            hostile.send_multipart(frames)
        # Raw bytes that are not even ZMTP: the connection is refused at the transport level.
        host, port = scheduler.endpoint.removeprefix("tcp://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256)))
        # Over 4 MiB, libzmq cuts the peer off before we ever see the frame.
        huge = ctx.socket(zmq.DEALER)
        huge.setsockopt(zmq.LINGER, 0)
        huge.connect(scheduler.endpoint)
        huge.send_multipart([p.MAGIC, b"RESULT", b"x" * (5 << 20)])
        await wait_for(
            lambda: scheduler.dropped >= len(BAD_MESSAGES), 20, "every bad frame dropped", task
        )
        result = await asyncio.wait_for(task, 60)
        hostile.close()
        huge.close()
        return result, scheduler.dropped

    state, dropped = asyncio.run(scenario())
    assert state == "finished"
    # At least every bad message; libzmq may also hand us the raw HTTP bytes as a (bad) message.
    assert dropped >= len(BAD_MESSAGES)
    assert recorder.scored_counts() == {i: 1 for i in range(12)}
    # Reported at a bounded rate: the first few from each address, then a summary a minute.
    drops = recorder.of(ev.MessageDropped)
    assert 1 <= len(drops) <= 5
    # Each names its sender (a raw-TCP peer speaking no ZMTP metadata has no address to give).
    assert {d.peer for d in drops} <= {"127.0.0.1", "unknown address"}
    assert any(d.peer == "127.0.0.1" for d in drops)


def test_a_node_with_another_scikit_learn_is_let_in_with_a_warning(
    tmp_path: Path, nodes: NodeProcs
) -> None:
    search = write_search(tmp_path)
    recorder = Recorder()

    async def scenario() -> None:
        scheduler, task = await start_search(
            search,
            tmp_path / "runs" / "t.toml",
            recorder,
            nodes,
            ("good",),
            exit_when_done=False,
        )
        await wait_for(lambda: recorder.of(ev.NodeJoined), 20, "the real node", task)
        old = zmq.Context.instance().socket(zmq.DEALER)
        old.setsockopt(zmq.LINGER, 0)
        old.connect(scheduler.endpoint)
        hello = {
            "node_id": "old-box",
            "protocol": p.PROTOCOL_VERSION,
            "slots": 1,
            "prefetch": 0,
            "host": "old-box",
            "running": [],
            "versions": {"sklearn": "0.24.2", "zmq_hpo": "0.1.0"},
        }
        old.send_multipart([p.MAGIC, b"HELLO", json.dumps(hello).encode()])
        await wait_for(lambda: len(recorder.of(ev.NodeJoined)) == 2, 20, "the old node", task)
        old.close()
        scheduler.stop()
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
    good, old = recorder.of(ev.NodeJoined)
    assert good.warning is None
    assert old.warning is not None and "sklearn 0.24.2 (console " in old.warning
