"""The local S3 store for `make run` and the tests: its ports, and a start that loses one."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from console.store import devstore
from console.store.devstore import GRPC_OFFSET, LocalStore, pick_ports, port_range

pytestmark = pytest.mark.timeout(120)


def test_ports_are_picked_below_the_kernels_ephemeral_range() -> None:
    """An outgoing connection may take an ephemeral port between our probe and weed's bind."""
    ephemeral_low = int(devstore.EPHEMERAL_PORTS.read_text().split()[0])
    low, high = port_range()
    assert high + GRPC_OFFSET <= ephemeral_low and high - low >= 1000
    for _ in range(20):
        for port in pick_ports().values():
            assert low <= port < high and port + GRPC_OFFSET < ephemeral_low


def test_a_port_taken_before_weed_binds_it_is_replaced_and_the_store_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real_pick = devstore.pick_ports
    picks: list[dict[str, int]] = []

    def first_loses_its_s3_port(first_choice: int | None = None) -> dict[str, int]:
        ports = real_pick(first_choice)
        if not picks:  # as if someone bound it after our probe
            ports["s3"] = taken.getsockname()[1]
        picks.append(ports)
        return ports

    monkeypatch.setattr(devstore, "pick_ports", first_loses_its_s3_port)
    store = LocalStore(tmp_path / "store")
    try:
        store.start(timeout=30)
        assert len(picks) == 2 and store.ports == picks[1]
        store.config.client().list_buckets()  # a real S3 request answers
        told = (tmp_path / "store" / "weed.log").read_bytes()
        assert b"Port allocation failed" in told or b"address already in use" in told
    finally:
        store.stop()
        taken.close()


def test_a_store_that_fails_for_another_reason_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_pick = devstore.pick_ports
    monkeypatch.setattr(devstore, "pick_ports", lambda c=None: calls.append(1) or real_pick(c))
    monkeypatch.setattr(devstore, "weed_binary", lambda: "false")  # exits 1, says nothing
    with pytest.raises(devstore.DevStoreError, match="exited with 1"):
        LocalStore(tmp_path / "store").start(timeout=10)
    assert len(calls) == 1
