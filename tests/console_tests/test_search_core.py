"""SearchCore's rules, fed typed messages by simulated nodes on a virtual clock (fast, no I/O)."""

from __future__ import annotations

from pathlib import Path

from console.scheduler import events as ev
from console.scheduler.nodes import QUARANTINE_AFTER
from console.scheduler.search_core import STALL_REPORT_AFTER_S, Peer
from console.scheduler.states import SearchState
from console.searchfile.toml_io import SavedState
from node import protocol as p
from tests.console_tests.core_harness import Harness, SimNode

GRID4 = 'seconds = { type = "choice", values = [0.0, 0.1, 0.2, 0.3] }'
HB = 0.2  # the harness's search files use the tests' heartbeat


def test_a_search_runs_to_the_end_and_each_result_is_acked_once(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    node = h.node("n1", slots=2)
    node.hello()
    assert node.received(p.Welcome)
    h.tick()
    while node.tasks():
        for task in node.tasks():
            node.finish(task)
        h.tick()
    assert h.core.state == SearchState.FINISHED
    assert sorted(e.trial_id for e in h.of(ev.TrialScored)) == [0, 1, 2, 3]
    acks = [a.verdict for a in node.received(p.Ack)]
    riding = [t for t in h.inbox.get(node.peer.routing_id, [])]
    assert acks.count(p.ACK_RECORDED) + sum(len(t.acks) for t in riding) <= 4


def test_a_dispatch_is_journaled_with_its_lease_before_the_task_leaves(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    node = h.node("n1")
    node.hello()
    out = h.tick()
    (task,) = [m for _, m in out.sends if isinstance(m, p.Task)]
    (record,) = [r for r in out.journal if r.id == task.trial_id]
    assert [(lease.lease_id, lease.node_id) for lease in record.leases] == [(task.lease_id, "n1")]


def test_a_timeout_that_recurs_fails_the_trial_and_not_the_node(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space='seconds = { type = "choice", values = [4.0] }')
    node = h.node("n1")
    node.hello()
    for _ in range(3):  # max_attempts
        h.tick()
        (task,) = node.tasks()
        node.finish(task, p.STATUS_TIMEOUT)
    h.tick()
    trial = h.trial(0)
    assert trial.status == "failed" and "follows the parameters" in (trial.error or "")
    assert h.core.nodes.get("n1").strikes == 0 and not h.of(ev.NodeQuarantined)
    assert h.core.state == SearchState.FINISHED


def test_a_crash_is_retried_on_another_node_and_blames_the_first_when_it_scores(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, space='seconds = { type = "choice", values = [0.0] }')
    a, b = h.node("a"), h.node("b")
    a.hello()
    h.tick()
    (task,) = a.tasks()
    b.hello()
    a.finish(task, p.STATUS_CRASH)
    h.tick()
    assert not a.tasks() and b.tasks()  # the retry went elsewhere (a fold at a time: a tail)
    while b.tasks():
        for retry in b.tasks():
            b.finish(retry)
        h.tick()
        assert not a.tasks()
    assert h.trial(0).status == "ok" and h.trial(0).failures == 1
    assert h.core.nodes.get("a").strikes == 1 and h.core.nodes.get("b").strikes == 0


def test_a_silent_node_costs_its_trial_nothing(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    quiet, steady = h.node("quiet"), h.node("steady")
    quiet.hello()
    h.tick()
    (lost,) = quiet.tasks()
    steady.hello()
    for _ in range(int(4 / 0.1)):  # steady heartbeats; quiet says nothing for 4 s
        steady.heartbeat()
        h.tick(0.1)
        for task in steady.tasks():
            steady.finish(task)
    assert h.core.nodes.get("quiet").gone == "lost"
    assert h.trial(lost.trial_id).failures == 0
    assert h.trial(lost.trial_id).status == "ok" and h.core.state == SearchState.FINISHED


def test_a_node_that_sits_on_leases_is_quarantined_and_the_trials_go_on(tmp_path: Path) -> None:
    h = Harness.for_search(
        tmp_path, space=GRID4, extra_search="trial_timeout_s = 1\nmax_attempts = 3"
    )
    sitter = h.node("sitter")
    sitter.hello()
    h.tick()
    for _ in range(200):  # 20 s: it heartbeats its leases but never reports
        sitter.heartbeat()
        h.tick(0.1)
        if h.core.nodes.get("sitter").quarantined:
            break
    assert h.core.nodes.get("sitter").strikes == QUARANTINE_AFTER
    assert all(t.failures == 0 and t.status == "pending" for t in h.core.ledger.trials.values())
    worker = h.node("worker")
    worker.hello()
    for _ in range(20):
        h.tick(0.1)
        for task in worker.tasks():
            worker.finish(task)
    assert h.core.state == SearchState.FINISHED
    assert {t.node for t in h.core.ledger.trials.values()} == {"worker"}


def test_a_result_for_a_lease_never_issued_is_stale(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    real, fake = h.node("real"), h.node("fake")
    real.hello()
    fake.hello()
    h.tick()
    made_up = p.Task(0, 1, "made-up", 1.0, "e", h.core.task_params(h.trial(0)), 3, "m", 3, {},
                     h.core.search_hash)  # fmt: skip
    fake.finish(made_up, mean=99.0)
    h.tick()
    assert h.trial(0).score != 99.0
    assert [a.verdict for a in fake.received(p.Ack)] == [p.ACK_STALE]


def test_a_hello_claiming_a_live_node_from_another_connection_is_refused(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    real = h.node("n1")
    real.hello()
    h.tick()
    (task,) = real.tasks()
    impostor = SimNode(h, "n1", 1, Peer(b"other-conn", "10.0.0.9"))
    impostor.hello()
    assert not impostor.received(p.Welcome)
    assert h.core.leases.get(task.lease_id) is not None  # the real node keeps its lease
    real.finish(task)
    assert h.trial(task.trial_id).status == "ok" and h.trial(task.trial_id).attempts == 1


def test_a_reconnecting_node_that_knows_its_leases_is_taken_back_at_once(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    node = h.node("n1")
    node.hello()
    h.tick()
    (task,) = node.tasks()
    node.peer = Peer(b"new-conn", "10.0.0.1")  # a new socket: the node thought we went quiet
    node.hello(running=node.held())
    assert node.received(p.Welcome)
    node.finish(task)
    assert h.trial(task.trial_id).status == "ok" and h.trial(task.trial_id).attempts == 1


def test_a_flood_of_unproven_nodes_cannot_hold_the_trials(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4, extra_search="max_attempts = 3")
    fakes = [h.node(f"fake-{i}", slots=64) for i in range(1000)]
    for fake in fakes:
        fake.hello()
    h.tick()
    held = {task.trial_id for fake in fakes for task in fake.tasks()}
    assert len(held) <= 4  # only 4 trials (spread as folds), each node's credit capped
    real = h.node("real")
    real.hello()
    for _ in range(200):  # the fakes never speak again
        real.heartbeat()
        h.tick(0.1)
        for task in real.tasks():
            real.finish(task)
        if h.core.state == SearchState.FINISHED:
            break
    assert h.core.state == SearchState.FINISHED
    assert all(t.status == "ok" and t.failures == 0 for t in h.core.ledger.trials.values())
    assert len(h.core.nodes.by_id) < 100  # lost fakes that never delivered are forgotten


def test_a_stall_is_reported_with_its_reason_and_cleared(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    h.tick()
    h.tick(STALL_REPORT_AFTER_S + 0.1)
    (stalled,) = h.of(ev.SearchStalled)
    assert stalled.reason == "no node has joined"
    node = h.node("n1")
    node.hello()
    h.tick()
    assert h.of(ev.SearchStalled)[-1].reason is None
    h.take(h.core.drain("n1", True, h.now))
    for task in node.tasks():
        node.finish(task)
    for _ in range(int(STALL_REPORT_AFTER_S / 0.1) + 2):
        node.heartbeat()  # connected, but draining: it may not take work
        h.tick(0.1)
    assert "1 draining" in (h.of(ev.SearchStalled)[-1].reason or "")
    assert h.core.stall_reason is not None


def test_a_restarted_core_adopts_and_records_what_nodes_finished(tmp_path: Path) -> None:
    first = Harness.for_search(tmp_path, space=GRID4)
    node = first.node("n1", slots=2, key="n1-key")  # keyed: trusted with both slots at once
    node.hello()
    first.tick()
    tasks = node.tasks()
    assert len(tasks) == 2
    latest = {record.id: record for record in first.journal}  # what the journal holds
    state = SavedState("running", first.core.search_hash, "2026-01-01T00:00:00+00:00",
                       [r.to_row() for r in latest.values()])  # fmt: skip
    second = Harness.for_search(tmp_path, state=state, space=GRID4)
    node.harness = second
    node.peer = Peer(b"after-restart", "10.0.0.1")
    done, still_running = tasks
    node.running.pop(done.lease_id)  # finished while the console was down: in its outbox
    unacked = p.HeldLease(done.lease_id, done.trial_id, 1, done.search, done.params)
    node.hello(running=(*node.held(), unacked))
    node.finish(done)
    node.finish(still_running)
    second.tick()
    for trial_id in (done.trial_id, still_running.trial_id):
        trial = second.trial(trial_id)
        assert trial.status == "ok" and trial.attempts == 1, trial


def test_a_restarted_core_refuses_a_lease_issued_to_another_node(tmp_path: Path) -> None:
    first = Harness.for_search(tmp_path, space=GRID4)
    owner = first.node("owner")
    owner.hello()
    first.tick()
    (task,) = owner.tasks()
    state = SavedState("running", first.core.search_hash, "2026-01-01T00:00:00+00:00",
                       [r.to_row() for r in first.journal])  # fmt: skip
    second = Harness.for_search(tmp_path, state=state, space=GRID4)
    thief = second.node("thief")
    thief.hello()
    thief.finish(task, mean=99.0)
    assert second.trial(task.trial_id).status != "ok"


def test_bad_messages_are_reported_at_a_bounded_rate(tmp_path: Path) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    peer = Peer(b"x", "10.0.0.66")
    for _ in range(10_000):
        h.take(h.core.on_bad_message(peer, "bad magic", h.now))
    h.tick(61)
    reports = h.of(ev.MessageDropped)
    assert len(reports) <= 5 and sum(r.repeats for r in reports) == 10_000
    assert h.core.drops.total == 10_000


def test_stop_hands_running_trials_back_and_close_says_when_a_search_is_over(
    tmp_path: Path,
) -> None:
    h = Harness.for_search(tmp_path, space=GRID4)
    node = h.node("n1")
    node.hello()
    h.tick()
    (task,) = node.tasks()
    h.take(h.core.stop(h.now))
    assert [c.lease_id for c in node.received(p.Cancel)] == [task.lease_id]
    assert h.trial(task.trial_id).status == "pending" and h.core.state == SearchState.STOPPED
    assert not h.take(h.core.close(h.now)).sends  # stopped, not over: nodes keep trying
    h.core.state = SearchState.FINISHED
    assert node.received() == [] and h.take(h.core.close(h.now)).sends
    assert [type(m) for m in node.received()] == [p.SearchOver]
