"""Issue 10, points 3 and 4: no message kills the console; only what the console issued counts.

Hostile peers are plain pyzmq DEALER sockets on the port of a real headless console
(`python -m console FILE --headless`), next to one real node that does the actual work.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import zmq

from node import protocol as p
from tests.conftest import NodeProcs, write_search
from tests.system_tests.fault_helpers import (
    BYE,
    HELLO,
    RESULT,
    TASK,
    Consoles,
    FakePeer,
    HeadlessConsole,
    hello_body,
    joined,
    rows_by_id,
)

pytestmark = pytest.mark.timeout(120)

FOUR_TRIALS = 'seconds = { type = "choice", values = [0.5, 0.6, 0.7, 0.8] }'


def _start_with_real_node(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles, space: str, **search: object
) -> HeadlessConsole:
    """A headless console on a fresh search, with real node n1 joined (so work is under way)."""
    search_file = write_search(tmp_path, space=space, cv=2, **search)  # type: ignore[arg-type]
    console = consoles.start(search_file)
    nodes.start(console.endpoint, "n1")
    console.wait_for_line(joined("n1"), 30, "the real node n1 joined")
    return console


def _assert_all_ok(tmp_path: Path, console: HeadlessConsole, count: int, code: int) -> None:
    rows = rows_by_id(tmp_path / "runs" / "t.toml")
    assert code == 0, f"exit code {code}\n{console.transcript()}"
    assert {i: r["status"] for i, r in rows.items()} == dict.fromkeys(range(count), "ok"), rows


# -- 3. No message kills the console ------------------------------------------------------------


def test_a_heartbeat_nested_100000_deep_is_dropped_and_the_search_finishes(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """A peer that sent a valid HELLO sends a HEARTBEAT whose `running` nests 100,000 arrays
    (~200 KB, under the size limit): the console drops it and the search finishes, exit 0."""
    console = _start_with_real_node(tmp_path, nodes, consoles, FOUR_TRIALS)
    deep = FakePeer(console.endpoint)
    try:
        deep.join("deep")
        nested = b"[" * 100_000 + b"]" * 100_000
        deep.send_raw([p.MAGIC, b"HEARTBEAT", b'{"node_id":"deep","running":' + nested + b"}"])
        deep.send(BYE, {"node_id": "deep", "running": []})  # it leaves: any task it got is back
        code = console.wait(40, "the search to finish after the nested HEARTBEAT")
    finally:
        deep.close()
    assert "RecursionError" not in console.output() + console.errors(), console.transcript()
    _assert_all_ok(tmp_path, console, 4, code)


MALFORMED: list[list[bytes]] = [
    [b"garbage"],
    [p.MAGIC, b"RESULT"],
    [p.MAGIC, b"RESULT", b'{"node_id": "x", "trial_id": 0'],
    [p.MAGIC, b"HELLO", b"[1, 2, 3]"],
    [p.MAGIC, b"NOPE", b"{}"],
    [p.MAGIC, b"HEARTBEAT", b'{"node_id": "", "running": []}'],
    [p.MAGIC, b"RESULT", pickle.dumps({"trial_id": 0})],
    [b"\x00\xff" * 50, b"", b""],
]


def test_a_flood_of_malformed_frames_is_survived_with_bounded_logging(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """10,000 malformed frames mid-search: the console survives, the search finishes, its log
    (stderr, and runs/t.logs/console.log if it writes one) grows by less than 200 KB, and the
    headless output has at most 20 lines about dropped messages (rate-limited, not one each)."""
    console = _start_with_real_node(tmp_path, nodes, consoles, FOUR_TRIALS)
    log_file = tmp_path / "runs" / "t.logs" / "console.log"

    def log_bytes() -> int:
        size = console.stderr_path.stat().st_size
        return size + (log_file.stat().st_size if log_file.exists() else 0)

    before = log_bytes()
    flood = FakePeer(console.endpoint)
    try:
        for number in range(10_000):
            flood.send_raw(MALFORMED[number % len(MALFORMED)])
        code = console.wait(60, "the search to finish after the flood")
    finally:
        flood.close()
    _assert_all_ok(tmp_path, console, 4, code)
    grown = log_bytes() - before
    assert grown < 200_000, f"the log grew by {grown:,} bytes for one flood"
    dropped_lines = [line for line in console.lines() if "drop" in line.lower()]
    assert len(dropped_lines) <= 20, (
        f"{len(dropped_lines)} output lines about dropped messages, e.g. {dropped_lines[:3]}"
    )


# -- 4. Only what the console issued counts -----------------------------------------------------


def test_a_result_for_a_lease_the_console_never_issued_is_not_recorded(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """While n1 runs trial 0, a peer that joined with its own HELLO sends an ok RESULT for trial 0
    with the right search hash and params but a made-up lease id, mean 99.0: trial 0 is recorded
    from n1's real result, not the forged one."""
    console = _start_with_real_node(
        tmp_path, nodes, consoles, 'seconds = { type = "choice", values = [2.0] }'
    )  # one 4 s trial, dispatched to n1 as it joined: nothing is left for the forger to be given
    forger = FakePeer(console.endpoint)
    try:
        search_hash = forger.join("forger").body["search"]
        forger.send(
            RESULT,
            {
                "node_id": "forger",
                "trial_id": 0,
                "lease_id": "made-up-lease-1",
                "attempt": 1,
                "search": search_hash,
                "params": {"seconds": 2.0},  # trial 0 of the grid (no fixed params)
                "status": "ok",
                "mean": 99.0,
                "std": 0.0,
                "fold_scores": [99.0, 99.0],
                "fit_time_s": 0.1,
                "error": None,
            },
        )
        code = console.wait(40, "the search to finish")
    finally:
        forger.close()
    trial = rows_by_id(tmp_path / "runs" / "t.toml")[0]
    assert trial["score"] != 99.0, f"the forged result was recorded: {trial}"
    assert trial["status"] == "ok" and trial["node"] == "n1", trial
    assert code == 0, console.transcript()


def test_a_hello_claiming_a_live_nodes_id_does_not_take_its_trial_away(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """While real node n1 runs a 3 s trial, another connection sends a HELLO with node_id "n1":
    n1's lease is not ended, so the trial is not requeued; it finishes on n1 with attempts 1, and
    the impostor is given no task."""
    console = _start_with_real_node(
        tmp_path, nodes, consoles, 'seconds = { type = "choice", values = [1.5] }'
    )
    impostor = FakePeer(console.endpoint)
    try:
        impostor.send(HELLO, hello_body("n1"))
        code = console.wait(40, "the search to finish")
        impostor.drain()
    finally:
        impostor.close()
    trial = rows_by_id(tmp_path / "runs" / "t.toml")[0]
    assert (trial["status"], trial["node"], trial["attempts"]) == ("ok", "n1", 1), (
        f"the impostor's HELLO ended n1's lease: {trial}\n{console.transcript()}"
    )
    tasks = [m.body for m in impostor.received if m.kind == TASK]
    assert tasks == [], f"the impostor was given n1's work: {tasks}"
    assert code == 0, console.transcript()


def test_a_thousand_silent_fake_nodes_do_not_fail_any_trial(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    """1,000 connections each send a valid HELLO with a distinct node id, then stay silent, while
    a grid of 10 trials runs with one real node and `max_attempts = 3`: the leases the fakes lose
    are their fault, not the trials', and unproven nodes get limited work, so all 10 score."""
    values = ", ".join(f"0.{n:02d}" for n in range(1, 11))
    space = f'seconds = {{ type = "choice", values = [{values}] }}'
    search_file = write_search(tmp_path, space=space, cv=2, extra_search="max_attempts = 3")
    console = consoles.start(search_file)
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, 1100)
    ghosts = [FakePeer(console.endpoint, ctx) for _ in range(1000)]
    try:
        for number, ghost in enumerate(ghosts):
            ghost.send(HELLO, hello_body(f"ghost-{number}"))
        nodes.start(console.endpoint, "n1")
        code = console.wait(90, "the search to finish among 1,000 silent nodes")
    finally:
        for ghost in ghosts:
            ghost.close()
        ctx.destroy(linger=0)
    assert code == 0, console.transcript()
    rows = rows_by_id(tmp_path / "runs" / "t.toml")
    failed = {i: r.get("error") for i, r in rows.items() if r["status"] != "ok"}
    assert failed == {}, (
        f"{len(failed)} of {len(rows)} trials failed, e.g. {list(failed.items())[:2]}"
    )
    _assert_all_ok(tmp_path, console, 10, code)
