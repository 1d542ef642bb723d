"""How the console's costs grow: with the number of trials, and with the number of nodes.

Both curves drive the real SearchCore (the scheduler's rules, no sockets) with simulated nodes on
a virtual clock, plus the real journal and checkpoint files, so what is measured is the console's
own work per trial and per node, not the network's or the estimators'. Each size of the trials
curve runs in a fresh process, so its peak RSS is its own.

- trials: N no-op trials through 16 nodes x 8 slots: console CPU per trial (core + journal),
  peak RSS, the checkpoint's size and write time at the end, and the time to reopen it.
- nodes: N idle nodes heartbeating: console CPU per second of wall time at a 1 s heartbeat, and
  the message rate the core sustains (heartbeats, then RESULTs with every node busy).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import format_table, say, write_search
from console.scheduler.checkpoint import Checkpointer, restore_ledger
from console.scheduler.search_core import Peer, SearchCore
from console.searchfile.spec import SearchSpec
from console.searchfile.toml_io import load_search
from node import protocol as p

TRIAL_SIZES = (1_000, 10_000, 100_000)
NODE_SIZES = (100, 1_000, 5_000)
QUICK_TRIALS, QUICK_NODES = (1_000, 5_000), (100, 500)


def _spec(folder: Path, trials: int) -> SearchSpec:
    return write_search(
        folder,
        name=f"scale-{trials}",
        estimator="svc",  # never run: the nodes are simulated
        strategy="random",
        max_trials=trials,
        space={"C": {"type": "float", "low": 0.01, "high": 100.0, "log": True}},
    )


def _join(core: SearchCore, count: int, slots: int, now: float) -> list[Peer]:
    """`count` keyed (trusted) nodes say HELLO; their connections."""
    peers = []
    for n in range(count):
        peer = Peer(f"node-{n}".encode(), "10.0.0.1", key_name=f"key-{n}")
        hello = p.Hello(f"node-{n}", p.PROTOCOL_VERSION, slots, 0, "sim", (), {})
        core.on_message(peer, hello, now)
        peers.append(peer)
    return peers


def _result(task: p.Task, node_id: str) -> p.Result:
    return p.Result(
        node_id, task.trial_id, task.lease_id, task.attempt, task.search, task.params,
        p.STATUS_OK, 0.5, 0.0, (0.5,), 0.001, None,
    )  # fmt: skip


def measure_trials(trials: int) -> dict[str, float]:
    """One size of the trials curve (run in its own process)."""
    with tempfile.TemporaryDirectory(prefix="hpo-bench-scale-") as tmp:
        folder = Path(tmp)
        spec = _spec(folder, trials)
        ledger, strategy, _ = restore_ledger(spec, None)
        core = SearchCore(spec, ledger, strategy)
        checkpoint = folder / "runs" / f"{spec.name}.toml"
        checkpointer = Checkpointer(spec, checkpoint, ledger)
        now = 1000.0
        by_route = {peer.routing_id: peer for peer in _join(core, 16, 8, now)}
        cpu = time.process_time()
        out = core.tick(now)
        while core.state != "finished":
            for record in out.journal:
                checkpointer.journal(record)
            checkpointer.flush_journal()
            replies = [
                (by_route[routing_id], _result(msg, by_route[routing_id].routing_id.decode()))
                for routing_id, msg in out.sends
                if isinstance(msg, p.Task)
            ]
            for peer, result in replies:
                out.extend(core.on_message(peer, result, now))
            now += 0.01
            out = core.tick(now)
        cpu = time.process_time() - cpu
        started = time.perf_counter()
        checkpointer.save("finished")
        save_s = time.perf_counter() - started
        started = time.perf_counter()
        loaded = load_search(checkpoint)
        restore_ledger(loaded.spec, loaded.state, checkpoint)
        reopen_s = time.perf_counter() - started
        return {
            "trials": trials,
            "cpu_us_per_trial": 1e6 * cpu / trials,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "checkpoint_mb": checkpoint.stat().st_size / 1e6,
            "save_s": save_s,
            "reopen_s": reopen_s,
        }


def measure_nodes(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hpo-bench-nodes-") as tmp:
        spec = _spec(Path(tmp), 10 * count)
        ledger, strategy, _ = restore_ledger(spec, None)
        core = SearchCore(spec, ledger, strategy)
        core.pause(0.0)  # idle: nothing dispatched while the heartbeats are measured
        now = 1000.0
        peers = _join(core, count, 1, now)
        beats = [p.Heartbeat(f"node-{n}", ()) for n in range(count)]
        rounds = 5
        cpu = time.process_time()
        for _ in range(rounds):  # one heartbeat period: every node beats, the core ticks
            now += core.heartbeat_s
            for peer, beat in zip(peers, beats, strict=True):
                core.on_message(peer, beat, now)
            core.tick(now)
        per_period = (time.process_time() - cpu) / rounds
        out = core.resume(now)
        tasks = [(routing_id, msg) for routing_id, msg in out.sends if isinstance(msg, p.Task)]
        by_route = {peer.routing_id: peer for peer in peers}
        started = time.process_time()
        for routing_id, task in tasks:
            core.on_message(by_route[routing_id], _result(task, routing_id.decode()), now)
        core.tick(now)
        result_s = time.process_time() - started
        return {
            "nodes": count,
            # The console's CPU share at a 1 s heartbeat (this run's heartbeat_s is the tests').
            "idle_cpu_share": per_period / 1.0,
            "beats_per_s": count / per_period,
            "results_per_s": len(tasks) / result_s if result_s else float("inf"),
        }


def _in_fresh_process(trials: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.scaling", "--trials", str(trials)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    trial_sizes, node_sizes = (QUICK_TRIALS, QUICK_NODES) if quick else (TRIAL_SIZES, NODE_SIZES)
    say("== scaling: the console's work per trial and per node (SearchCore, simulated nodes) ==")
    by_trials = [_in_fresh_process(n) for n in trial_sizes]
    trial_rows = [
        [f"{r['trials']:,.0f}", f"{r['cpu_us_per_trial']:.0f}", f"{r['rss_mb']:.0f}",
         f"{r['checkpoint_mb']:.2f}", f"{r['save_s']:.3f}", f"{r['reopen_s']:.3f}"]
        for r in by_trials
    ]  # fmt: skip
    header = ["trials", "CPU us/trial", "peak RSS MB", "checkpoint MB", "write s", "reopen s"]
    say(format_table(header, trial_rows))
    by_nodes = [measure_nodes(n) for n in node_sizes]
    node_rows = [
        [f"{r['nodes']:,.0f}", f"{r['idle_cpu_share']:.1%}", f"{r['beats_per_s']:,.0f}",
         f"{r['results_per_s']:,.0f}"]
        for r in by_nodes
    ]  # fmt: skip
    header = ["nodes", "idle CPU at 1 s beats", "heartbeats/s", "RESULTs/s (all busy)"]
    say(format_table(header, node_rows))
    say()
    return by_trials, by_nodes


if __name__ == "__main__":
    if sys.argv[1:2] == ["--trials"]:
        print(json.dumps(measure_trials(int(sys.argv[2]))))
    else:
        run("--quick" in sys.argv)
