"""Shared setup for the real-process fault tests: headless consoles, fake peers, checkpoints.

A `HeadlessConsole` is the real CLI (`python -m console FILE --headless`) in a subprocess, run in
the test's tmp folder with its own free loopback port. A `FakePeer` is a plain pyzmq DEALER that
speaks the wire protocol (`[b"HPO1", TYPE, JSON]`) as the test tells it to; a `SilentWorker` is a
fake node on a thread of its own that heartbeats, takes tasks and never reports a result.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sklearn
import zmq

from node import package_version
from node import protocol as p
from tests.conftest import HEARTBEAT_S, REPO, wait_until

# A fake peer speaks the protocol as raw JSON bodies, so a test can send anything, well formed
# or not; what the console sends back is decoded by the real decoder, then seen as a body too.
HELLO, HEARTBEAT, PROGRESS, RESULT, BYE = "HELLO", "HEARTBEAT", "PROGRESS", "RESULT", "BYE"
WELCOME, TASK, ACK, CANCEL = "WELCOME", "TASK", "ACK", "CANCEL"
HELD_LEASE_FIELDS = ("lease_id", "trial_id", "attempt", "search", "params")


@dataclass(frozen=True)
class Raw:
    """A message as a fake peer handles it: its type and JSON body."""

    kind: str
    body: dict[str, Any]


def encode(kind: str, body: dict[str, Any]) -> list[bytes]:
    return [p.MAGIC, kind.encode(), json.dumps(body).encode()]


def decode(frames: list[bytes]) -> Raw:
    msg = p.decode(frames)
    return Raw(msg.KIND, msg.to_body())


# What a rewritten node logs once per execution of a trial (the contract of issue 10).
STARTED_LINE = re.compile(r"trial (\d+) started \(lease ([^)\s]+)\)")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (each console gets its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def console_env() -> dict[str, str]:
    """This process's environment without anything that would change a console's behaviour."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HPO_", "MINIO_", "PYTEST_"))
    }
    env["PYTHONPATH"] = str(REPO)
    return env


class HeadlessConsole:
    """One `python -m console FILE --headless` process; stdout and stderr go to files."""

    def __init__(
        self, folder: Path, file: Path | str, *args: str, label: str, endpoint: str | None = None
    ) -> None:
        self.folder = folder
        self.label = label
        self.endpoint = endpoint or f"tcp://127.0.0.1:{free_port()}"
        self.stdout_path = folder / f"{label}.out"
        self.stderr_path = folder / f"{label}.err"
        command = [sys.executable, "-m", "console", str(file), "--headless"]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [*command, "--bind", self.endpoint, *args],
                cwd=folder,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=console_env(),
            )
        self.started = time.monotonic()
        self.ended: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """What it printed on stdout so far."""
        return self.stdout_path.read_text(errors="replace")

    def errors(self) -> str:
        """What it printed on stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def transcript(self) -> str:
        """Both streams, for assertion messages."""
        return (
            f"--- {self.label} stdout ---\n{self.output()}--- {self.label} stderr ---\n"
            + (self.errors()[-4000:])
        )

    def lines(self) -> list[str]:
        return self.output().splitlines()

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float, what: str = "the console to exit") -> int:
        """Its exit code; fail with its output if it is still running after `timeout`."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}\n{self.transcript()}"
            ) from None
        if self.ended is None:
            self.ended = time.monotonic()
        return code

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first stdout line for which `predicate` holds, waiting up to `timeout`."""
        found: list[str] = []

        def seen() -> bool:
            found[:] = [line for line in self.lines() if predicate(line)][:1]
            if not found and not self.running():
                raise AssertionError(
                    f"{self.label} exited ({self.proc.returncode}) before {what}\n"
                    + self.transcript()
                )
            return bool(found)

        try:
            wait_until(seen, timeout, what)
        except AssertionError as exc:
            if "timed out" in str(exc):
                raise AssertionError(f"{exc}\n{self.transcript()}") from None
            raise
        return found[0]

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def close(self) -> None:
        """Whatever happened, leave no console behind."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Consoles:
    """Every headless console a test started, killed at the end whatever happened."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[HeadlessConsole] = []

    def start(
        self, file: Path | str, *args: str, label: str = "console", endpoint: str | None = None
    ) -> HeadlessConsole:
        """`endpoint`: listen there (e.g. where nodes of a killed console still try to connect)."""
        console = HeadlessConsole(self.folder, file, *args, label=label, endpoint=endpoint)
        self.started.append(console)
        return console

    def close(self) -> None:
        for console in self.started:
            console.close()


def hello_body(node_id: str, slots: int = 1, running: list[dict[str, Any]] | None = None) -> dict:
    """A HELLO that today's console accepts, as a real node of the same versions would send."""
    return {
        "node_id": node_id,
        "protocol": p.PROTOCOL_VERSION,
        "slots": slots,
        "prefetch": 0,
        "host": "fake-host",
        "running": running or [],
        "versions": {
            "zmq_hpo": package_version(),
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "zmq": zmq.zmq_version(),
        },
    }


class FakePeer:
    """A DEALER on the console's port that the test drives frame by frame (one thread only)."""

    def __init__(self, endpoint: str, ctx: zmq.Context | None = None) -> None:
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDTIMEO, 5000)  # a send never blocks a test forever
        self.sock.connect(endpoint)
        self.received: list[Raw] = []

    def send(self, kind: str, body: dict[str, Any]) -> None:
        self.sock.send_multipart(encode(kind, body))

    def send_raw(self, frames: list[bytes]) -> None:
        self.sock.send_multipart(frames)

    def recv(self, timeout: float) -> Raw | None:
        """The next well-formed message from the console, or None after `timeout` seconds."""
        if not self.sock.poll(int(timeout * 1000)):
            return None
        msg = decode(self.sock.recv_multipart())
        self.received.append(msg)
        return msg

    def expect(self, kind: str, timeout: float, what: str = "") -> Raw:
        """Read until a message of `kind` arrives; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.recv(left)
            if msg is not None and msg.kind == kind:
                return msg
        raise AssertionError(f"no {kind} from the console within {timeout}s {what}".rstrip())

    def drain(self) -> list[Raw]:
        """Every message waiting now (kept in `received` too)."""
        got = []
        while (msg := self.recv(0.05)) is not None:
            got.append(msg)
        return got

    def join(self, node_id: str, slots: int = 1, timeout: float = 10.0) -> Raw:
        """Send a valid HELLO and return the console's WELCOME (its body holds the search hash)."""
        self.send(HELLO, hello_body(node_id, slots))
        return self.expect(WELCOME, timeout)

    def close(self) -> None:
        self.sock.close(linger=0)


class SilentWorker(threading.Thread):
    """A fake node that heartbeats the leases it was given, honours CANCEL, never reports.

    The thread owns its socket (no zmq socket is touched from two threads); the test reads the
    counters under the lock.
    """

    def __init__(self, endpoint: str, node_id: str, slots: int = 1) -> None:
        super().__init__(name=f"silent-worker-{node_id}", daemon=True)
        self.endpoint = endpoint
        self.node_id = node_id
        self.slots = slots
        self.lock = threading.Lock()
        self.tasks: list[dict[str, Any]] = []  # every TASK received, in order
        self.cancelled: list[str] = []  # lease ids the console took back
        self.held: dict[str, dict[str, Any]] = {}  # lease id -> what HEARTBEAT reports
        self.welcomed = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        peer = FakePeer(self.endpoint, zmq.Context.instance())
        try:
            peer.send(HELLO, hello_body(self.node_id, self.slots))
            last_beat = time.monotonic()
            while not self._halt.is_set():
                msg = peer.recv(HEARTBEAT_S / 4)
                if msg is not None:
                    self._on_message(msg)
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    last_beat = time.monotonic()
                    with self.lock:
                        running = list(self.held.values())
                    peer.send(HEARTBEAT, {"node_id": self.node_id, "running": running})
        finally:
            peer.close()

    def _on_message(self, msg: Raw) -> None:
        body = msg.body
        with self.lock:
            if msg.kind == WELCOME:
                self.welcomed.set()
            elif msg.kind == TASK:
                self.tasks.append(body)
                self.held[body["lease_id"]] = {key: body[key] for key in HELD_LEASE_FIELDS}
            elif msg.kind == CANCEL:
                self.cancelled.append(body["lease_id"])
                self.held.pop(body["lease_id"], None)

    def counts(self) -> tuple[int, int]:
        """(tasks received, leases cancelled) so far."""
        with self.lock:
            return len(self.tasks), len(self.cancelled)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint TOML as written (the README documents [state] and [[trials]])."""
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def trial_rows(path: Path) -> list[dict[str, Any]]:
    """Every [[trials]] row of the checkpoint, in file order (duplicates kept, to be seen)."""
    return list(read_checkpoint(path).get("trials", []))


def rows_by_id(path: Path) -> dict[int, dict[str, Any]]:
    """[[trials]] rows by id; fails if an id appears twice (a trial recorded twice)."""
    rows = trial_rows(path)
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(rows), f"a trial id appears twice in {path}: {rows}"
    return by_id


def started_executions(*logs: str) -> list[tuple[int, str]]:
    """(trial id, lease id) of every `trial ID started (lease L)` line in these node logs."""
    return [(int(m[1]), m[2]) for log in logs for m in STARTED_LINE.finditer(log)]


def append_to_search_table(search_file: Path, table: str, line: str) -> None:
    """Add `line` to `[table]` of a search file written by conftest's write_search."""
    text = search_file.read_text()
    header = f"[{table}]\n"
    assert header in text, f"{search_file} has no [{table}] table"
    search_file.write_text(text.replace(header, header + line + "\n", 1))


def joined(node_id: str) -> Callable[[str], bool]:
    """A predicate for the console's line saying that `node_id` joined (or rejoined)."""
    pattern = re.compile(rf"\bnode {re.escape(node_id)}\b.*join")
    return lambda line: pattern.search(line) is not None
