"""CurveZMQ on the node link, with real node processes: who gets in, who is refused, and that the
refused never disturb the search of the allowed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

from console.link import keys_cli
from console.link.gatekeeper import (
    HANG_UPS_BEFORE_REFUSAL,
    HUNG_UP_AGAIN,
    Gatekeeper,
    RefusalLog,
)
from console.link.keyring import ConsoleKeys
from console.scheduler import events as ev
from console.searchfile.toml_io import load_search
from node.curve import load_node_keys, write_node_bundle
from node.transport import make_dealer, make_router
from tests.conftest import NodeProcs, Recorder, make_scheduler, wait_for, wait_until, write_search

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    keys_cli.init(folder, exist_ok=False)
    keys_cli.add_node(folder, "good", exist_ok=False)
    return folder


def _bundle(folder: Path, console_public: bytes) -> Path:
    folder.mkdir()
    write_node_bundle(folder, console_public, "made by a test")
    return folder


REASONS = ("does not use CURVE", "not allow-listed", "CURVE handshake failed")


def _refusals(recorder: Recorder, containing: str) -> list[ev.ConnectionRefused]:
    return [e for e in recorder.of(ev.ConnectionRefused) if containing in e.reason]


def _each_reason_named_its_peer(recorder: Recorder) -> bool:
    """Pre-ZAP refusals find their peer's address after the fact (closed_peers.py), which can
    miss one connection; a refused node retries, so each reason must name 127.0.0.1 soon."""
    return all(
        any(e.peer.startswith("127.0.0.1") for e in _refusals(recorder, why)) for why in REASONS
    )


def test_only_allow_listed_nodes_get_work_and_every_refusal_is_reported(
    tmp_path: Path, nodes: NodeProcs, key_dir: Path
) -> None:
    search = write_search(
        tmp_path,
        strategy="random",
        max_trials=16,
        space='seconds = { type = "float", low = 0.01, high = 0.05 }',
    )
    checkpoint = tmp_path / "ckpt.toml"
    keys = ConsoleKeys.load(key_dir)
    # Right console key, but a node key nobody allow-listed; and a bundle made for another console.
    stranger = _bundle(tmp_path / "stranger", keys.own.public)
    impostor = _bundle(tmp_path / "impostor", ConsoleKeys.load(_other_keys(tmp_path)).own.public)
    recorder = Recorder()

    async def scenario() -> str:
        scheduler = make_scheduler(search, checkpoint, recorder, keys=keys)
        task = asyncio.create_task(scheduler.run())
        await wait_for(scheduler.ready.is_set, 10, "scheduler bound", task)
        nodes.start(scheduler.endpoint, "plain")
        nodes.start(scheduler.endpoint, "stranger", keys=stranger)
        nodes.start(scheduler.endpoint, "impostor", keys=impostor)
        await wait_for(
            lambda: _each_reason_named_its_peer(recorder),
            30,
            "all three refusals reported with the peer's address",
            task,
        )
        nodes.start(scheduler.endpoint, "good", slots=2, keys=key_dir / "nodes" / "good")
        return await task

    assert asyncio.run(scenario()) == "finished"
    assert {e.node_id for e in recorder.of(ev.NodeJoined)} == {"good"}
    assert {e.node_id for e in recorder.of(ev.TrialDispatched)} == {"good"}
    assert recorder.scored_counts() == {trial: 1 for trial in range(16)}
    for refusal in recorder.of(ev.ConnectionRefused):
        assert refusal.peer.startswith("127.0.0.1") or refusal.peer == "unknown address", refusal
    # ZAP hands over the address itself: a key refusal always names it.
    assert all(e.peer == "127.0.0.1" for e in _refusals(recorder, "not allow-listed"))
    stranger_public = load_node_keys(stranger).own.public.decode()
    assert any(stranger_public in e.reason for e in _refusals(recorder, "not allow-listed"))
    state = load_search(checkpoint).state
    assert state is not None and state.status == "finished"
    assert sorted(t["id"] for t in state.trials if t["status"] == "ok") == list(range(16))
    # The refused nodes say why on their side too, in words that point at the fix.
    wait_until(lambda: "requires CURVE keys" in nodes.log("plain"), 10, "plain node's log")
    wait_until(lambda: "refused this node's key" in nodes.log("stranger"), 10, "stranger's log")
    wait_until(lambda: "public key" in nodes.log("impostor"), 10, "impostor's log")


def _other_keys(tmp_path: Path) -> Path:
    folder = tmp_path / "other-console-keys"
    keys_cli.init(folder, exist_ok=False)
    return folder


def test_refusals_from_one_host_are_counted_not_each_reported() -> None:
    reports: list[tuple[str, str, int]] = []
    now = [0.0]
    refusals = RefusalLog(lambda *report: reports.append(report), lambda: now[0])
    for port in range(5):
        refusals.refused(f"10.1.2.3:{4000 + port}", "bad key")
    refusals.refused("10.9.9.9:1", "bad key")  # another host: reported at once
    now[0] = 61.0
    refusals.refused("10.1.2.3:5000", "bad key")
    assert reports == [
        ("10.1.2.3:4000", "bad key", 1),
        ("10.9.9.9:1", "bad key", 1),
        ("10.1.2.3:5000", "bad key", 5),  # the four held back, plus this one
    ]
    assert refusals.total == 7


def test_a_host_that_keeps_hanging_up_and_never_gets_in_is_reported() -> None:
    """One hang-up mid-handshake proves nothing (a keyed node giving up early); a run of them
    from a host that never gets in is a node that cannot, e.g. a plaintext node on a console too
    busy to read its greeting first."""
    reports: list[tuple[str, str, int]] = []
    refusals = RefusalLog(lambda *report: reports.append(report), lambda: 0.0)
    for port in range(HANG_UPS_BEFORE_REFUSAL - 1):
        refusals.hung_up(f"10.1.2.3:{4000 + port}")
    refusals.accepted("10.1.2.3")  # it got in (ZAP names the host alone): a keyed node
    for port in range(HANG_UPS_BEFORE_REFUSAL - 1):
        refusals.hung_up(f"10.1.2.3:{5000 + port}")
        refusals.hung_up(f"10.9.9.9:{5000 + port}")
    assert reports == [] and refusals.total == 0
    refusals.hung_up("10.9.9.9:6000")
    assert reports == [("10.9.9.9:6000", HUNG_UP_AGAIN, 1)] and refusals.total == 1
    assert "without --keys" in HUNG_UP_AGAIN


def _handshake_gets_through(key_dir: Path, start_gatekeeper: bool) -> bool:
    """Does a message from an allow-listed node reach a CURVE router within a second?"""

    async def scenario() -> bool:
        ctx = zmq.asyncio.Context()
        gatekeeper = Gatekeeper(ctx, ConsoleKeys.load(key_dir), RefusalLog(print, lambda: 0.0))
        if start_gatekeeper:
            gatekeeper.start()
        router = make_router(ctx, "tcp://127.0.0.1:0", gatekeeper.router_options())
        endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        node_keys = load_node_keys(key_dir / "nodes" / "good")
        dealer = make_dealer(zmq.Context.instance(), endpoint, keys=node_keys)
        try:
            dealer.send(b"hello")
            return bool(await router.poll(1000))
        finally:
            dealer.close(linger=0)
            router.close(linger=0)
            await gatekeeper.close()
            ctx.destroy(linger=0)

    return asyncio.run(scenario())


def test_the_link_fails_closed_when_no_gatekeeper_answers(key_dir: Path) -> None:
    assert _handshake_gets_through(key_dir, start_gatekeeper=True)
    assert not _handshake_gets_through(key_dir, start_gatekeeper=False)


def test_the_allow_list_follows_the_key_folder_without_a_restart(key_dir: Path) -> None:
    keys = ConsoleKeys.load(key_dir)
    assert sorted(keys.allowed().values()) == ["good"]
    keys_cli.add_node(key_dir, "late", exist_ok=False)
    assert sorted(keys.allowed().values()) == ["good", "late"]
    keys_cli.remove_node(key_dir, "good")
    assert sorted(keys.allowed().values()) == ["late"]
    keys.allow(b"x" * 40, "(local nodes)")  # in memory only, and kept across re-reads
    keys_cli.add_node(key_dir, "later", exist_ok=False)
    assert sorted(keys.allowed().values()) == ["(local nodes)", "late", "later"]
