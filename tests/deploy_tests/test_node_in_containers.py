"""What a node needs to behave in a container: a name that survives a restart, a clean exit when
stopped while starting, and no false key alarm (either side) when a handshake is cut short."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

from console.link.gatekeeper import Gatekeeper, RefusalLog
from node.handshake import HUNG_UP_ONCE, HandshakeWatch
from node.identity import default_node_id
from tests.conftest import REPO, wait_until

pytestmark = pytest.mark.timeout(60)
EPIPE = 32
MISMATCH = 0x11000002


def test_a_containers_main_process_is_named_by_its_hostname(tmp_path: Path) -> None:
    marker = tmp_path / ".dockerenv"
    marker.touch()
    assert default_node_id("c0ffee", 7, 1, (marker,)) == "c0ffee"  # child of the init
    assert default_node_id("c0ffee", 1, 0, (marker,)) == "c0ffee"  # PID 1 itself
    assert default_node_id("box", 4242, 99, (marker,)) == "box-4242"  # one of many on a host
    assert default_node_id("box", 4242, 1, (tmp_path / "none",)) == "box-4242"  # no container


def test_a_node_stopped_while_starting_exits_0(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "node", "--connect", "tcp://127.0.0.1:9", "--slots", "1"],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # SIGTERM as soon as the node handles it (its first act), i.e. while it is still loading
    # scikit-learn and starting its slot processes: the window `docker stop` used to hit.
    wait_until(lambda: _catches_sigterm(proc.pid), 30, "the node to install its handler")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""


def _catches_sigterm(pid: int) -> bool:
    """SigCgt in /proc/PID/status: the signals the process has handlers for."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(
        next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt")), 16
    )
    return bool(caught & (1 << (signal.SIGTERM - 1)))


class _Watch(HandshakeWatch):
    def __init__(self, curve: bool) -> None:  # no socket: events are fed by hand
        self.curve = curve
        self.last_problem = None
        self.hang_ups = 0


def test_one_hang_up_is_not_a_key_problem_but_hang_ups_in_a_row_are() -> None:
    watch = _Watch(curve=True)
    assert watch.on_event(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE) == HUNG_UP_ONCE
    watch.on_event(zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    assert watch.on_event(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE) == HUNG_UP_ONCE
    assert "public key" in (watch.on_event(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE) or "")
    assert "--keys" in (watch.on_event(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, MISMATCH) or "")
    plain = _Watch(curve=False)
    assert "requires CURVE" in (plain.on_event(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, MISMATCH) or "")


def test_the_console_does_not_report_a_hang_up_as_a_refusal() -> None:
    reports: list[tuple[str, str, int]] = []
    keeper = Gatekeeper(None, None, RefusalLog(lambda *r: reports.append(r), lambda: 0.0))  # type: ignore[arg-type]
    assert keeper._on_monitor_event(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE) is None
    assert keeper._on_monitor_event(zmq.EVENT_DISCONNECTED, 5) is None  # claimed, not reported
    keeper._on_monitor_event(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, MISMATCH)
    _peer, reason = keeper._on_monitor_event(zmq.EVENT_DISCONNECTED, 6) or ("", "")
    assert "does not use CURVE" in reason


def test_keyed_nodes_racing_a_busy_console_start_raise_no_alarm(tmp_path: Path) -> None:
    """The reproduction: keyed nodes retrying while a console binds and its loop is busy for
    1.5 s (ZAP answered late, the nodes give up mid-handshake): no refusal may be reported."""
    import asyncio

    from console.link import keys_cli
    from console.link.keyring import ConsoleKeys
    from console.scheduler import events as ev
    from tests.conftest import NodeProcs, Recorder, make_scheduler, write_search

    key_dir = tmp_path / "keys"
    keys_cli.init(key_dir, exist_ok=False)
    keys_cli.add_node(key_dir, "good", exist_ok=False)
    search = write_search(
        tmp_path, strategy="random", max_trials=500,
        space='seconds = { type = "float", low = 0.01, high = 0.02 }',
    )  # fmt: skip
    with socket_port() as port:
        endpoint = f"tcp://127.0.0.1:{port}"
    nodes = NodeProcs(tmp_path)
    recorder = Recorder()
    try:
        for n in range(3):
            nodes.start(endpoint, f"n{n}", keys=key_dir / "nodes" / "good")
        wait_until(lambda: all("did not answer" in nodes.log(f"n{n}") for n in range(3)), 45,
                   "every node retrying")  # fmt: skip

        async def scenario() -> None:
            sched = make_scheduler(search, tmp_path / "c.toml", recorder, bind=endpoint,
                                   keys=ConsoleKeys.load(key_dir))  # fmt: skip
            task = asyncio.create_task(sched.run())
            while not sched.ready.is_set():
                await asyncio.sleep(0.001)
            time.sleep(1.5)  # the loop busy right after the bind: ZAP answers late
            deadline = time.monotonic() + 30
            while len({e.node_id for e in recorder.of(ev.NodeJoined)}) < 3:
                assert time.monotonic() < deadline, "nodes did not join"
                await asyncio.sleep(0.05)
            sched.stop()
            await task

        asyncio.run(scenario())
    finally:
        nodes.close()
    assert recorder.of(ev.ConnectionRefused) == []


class socket_port:
    """A free port on loopback (closed again on exit, so the console can bind it)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *_: object) -> None:
        self.sock.close()
