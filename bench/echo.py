"""Raw pyzmq baseline: a ROUTER here, DEALER echo peers (`python -m bench.echo ENDPOINT`)."""

# Messages have the frames and JSON bodies of a real TASK and RESULT, so the baseline pays the same
# encode/decode cost per round trip and nothing else (no validation, leases, journal, ACK, child).

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import zmq

MAGIC = b"HPO1"
START_TIMEOUT_S = 30.0
REPO = Path(__file__).resolve().parent.parent  # so `-m bench.echo` resolves from anywhere


def sample_task(trial_id: int) -> dict[str, Any]:
    """A TASK body shaped like the scheduler's for a noop trial."""
    return {
        "trial_id": trial_id,
        "attempt": 1,
        "lease_id": f"3fa9c2-{trial_id + 1}",
        "timeout_s": 600.0,
        "estimator": "noop",
        "params": {"C": 0.5371973125387285},
        "cv": 3,
        "metric": "accuracy",
        "seed": 3,
        "dataset": {"source": "sklearn:iris", "target": None, "sha256": None},
        "search": "5c1f0e8d2b7a4c91",
    }


def sample_result(task: dict[str, Any]) -> dict[str, Any]:
    """A RESULT body shaped like a node's for that task."""
    return {
        "node_id": "local-1",
        "trial_id": task["trial_id"],
        "lease_id": task["lease_id"],
        "attempt": task["attempt"],
        "search": task["search"],
        "params": task["params"],
        "status": "ok",
        "mean": 0.0,
        "std": 0.0,
        "fold_scores": [],
        "fit_time_s": 1.9e-06,
        "error": None,
    }


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def peer_main(endpoint: str) -> None:
    """Echo peer: announce itself, then answer every TASK with a RESULT until told to stop."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sock.send_multipart([MAGIC, b"HELLO", b"{}"])
    while True:
        _, kind, payload = sock.recv_multipart()
        if kind != b"TASK":
            break
        sock.send_multipart([MAGIC, b"RESULT", _dumps(sample_result(json.loads(payload)))])
    sock.close()
    ctx.term()


class EchoBench:
    """The ROUTER side plus its peer processes; use as a context manager (peers always reaped)."""

    def __init__(self, peers: int = 2) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("tcp://127.0.0.1:0")
        endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.procs = [
            subprocess.Popen([sys.executable, "-m", "bench.echo", endpoint], cwd=REPO)
            for _ in range(peers)
        ]
        self.peers: list[bytes] = []
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(self.peers) < peers:
            if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                self.close()
                raise RuntimeError("echo peers did not connect in time")
            self.peers.append(self.sock.recv_multipart()[0])

    def round_trips_per_s(self, count: int, in_flight: int) -> float:
        """Keep `in_flight` tasks outstanding per peer until `count` results are back."""
        sent = received = 0
        started = time.perf_counter()
        for _ in range(in_flight):
            for peer in self.peers:
                if sent < count:
                    self.sock.send_multipart([peer, MAGIC, b"TASK", _dumps(sample_task(sent))])
                    sent += 1
        while received < count:
            peer, _, _, payload = self.sock.recv_multipart()
            json.loads(payload)
            received += 1
            if sent < count:
                self.sock.send_multipart([peer, MAGIC, b"TASK", _dumps(sample_task(sent))])
                sent += 1
        return count / (time.perf_counter() - started)

    def close(self) -> None:
        for peer in self.peers:
            self.sock.send_multipart([peer, MAGIC, b"STOP", b"{}"])
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.sock.close()
        self.ctx.term()

    def __enter__(self) -> EchoBench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


if __name__ == "__main__":
    peer_main(sys.argv[1])
