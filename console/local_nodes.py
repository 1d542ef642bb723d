"""Node processes the console starts on its own machine, so one machine needs nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def connect_address(endpoint: str) -> str:
    """Where a local node should connect for a bound endpoint (a wildcard means loopback)."""
    parts = urlsplit(endpoint)
    if parts.scheme != "tcp":  # ipc:// (tests): nodes connect to the same address
        return endpoint
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "*", "::"):
        host = "127.0.0.1"
    return f"tcp://{host}:{parts.port}"


def default_slots(local_nodes: int) -> int:
    """Share the machine's cores between the local nodes rather than oversubscribing them."""
    return max(1, (os.cpu_count() or 1) // max(1, local_nodes))


class LocalNodes:
    """Starts, stops and reaps `hpo-node` child processes named local-1, local-2, ..."""

    def __init__(
        self,
        endpoint: str,
        slots: int,
        heartbeat_s: float,
        log_dir: Path,
        prefetch: int = 0,
        keys_dir: Path | None = None,
    ) -> None:
        self.connect = connect_address(endpoint)
        self.keys_dir = keys_dir  # a CURVE key bundle the console allow-listed for its own nodes
        self.slots = slots
        self.prefetch = prefetch
        self.heartbeat_s = heartbeat_s
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._counter = 0

    def start(self, count: int = 1) -> list[str]:
        return [self._start_one() for _ in range(count)]

    def _start_one(self) -> str:
        self._counter += 1
        node_id = f"local-{self._counter}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_dir / f"{node_id}.log", "ab")  # noqa: SIM115 - child owns it
        command = [
            sys.executable,
            "-m",
            "node",
            "--connect",
            self.connect,
            "--slots",
            str(self.slots),
            "--node-id",
            node_id,
            "--heartbeat",
            str(self.heartbeat_s),
            "--prefetch",
            str(self.prefetch),
            "--parent-pid",
            str(os.getpid()),
        ]
        if self.keys_dir is not None:
            command += ["--keys", str(self.keys_dir)]
        # A new session keeps the terminal's Ctrl-C away from the nodes: the console decides
        # when they stop, after the search has checkpointed.
        self.procs[node_id] = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )
        log_file.close()
        return node_id

    def running(self) -> list[str]:
        return [node_id for node_id, proc in self.procs.items() if proc.poll() is None]

    def stop(self, node_id: str) -> bool:
        """SIGTERM one node: it hands its trials back and exits."""
        proc = self.procs.get(node_id)
        if proc is None or proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGTERM)
        return True

    def stop_all(self, timeout_s: float = 10.0) -> None:
        for node_id in self.running():
            self.stop(node_id)
        deadline = time.monotonic() + timeout_s
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
