"""Each key reaches the right scheduler control, with real nodes and a real socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import zmq
import zmq.asyncio

from console.searchfile.toml_io import load_search
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.node_detail import NodeDetailScreen
from console.tui.screens.trial_detail import TrialDetailScreen
from console.tui.widgets.status_bar import StatusBar
from console.tui.widgets.trials_table import TrialsTable
from node import protocol as p
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, table_rows, text_of, until

SLOW_GRID = 'seconds = { type = "choice", values = [0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36] }'


def slow_search(tmp_path: Path) -> Path:
    return write_search(tmp_path, space=SLOW_GRID)


def test_pause_shows_paused_and_stops_dispatch(tmp_path: Path) -> None:
    app = make_app(slow_search(tmp_path), tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: scheduler.ledger.done >= 1, 30, "a first result")
            await until(pilot, lambda: app.search_state == "running", 10, "running shown")
            await pilot.press("p")
            assert scheduler.state == "paused"
            await until(pilot, lambda: "PAUSED" in text_of(app.query_one(StatusBar)), 5, "PAUSED")
            await until(pilot, lambda: scheduler.ledger.running == 0, 10, "running trials end")
            dispatched = sum(t.attempts for t in scheduler.ledger.trials.values())
            await pilot.pause(1.0)  # a window in which a running search would dispatch (~0.1 s)
            assert sum(t.attempts for t in scheduler.ledger.trials.values()) == dispatched
            assert "search paused: running trials finish" in log_text(app)
            await pilot.press("r")
            assert scheduler.state == "running"
            await until(pilot, lambda: scheduler.state == "finished", 30, "the search to finish")

    asyncio.run(scenario())


def test_node_keys_drain_add_and_stop_local_nodes(tmp_path: Path) -> None:
    app = make_app(slow_search(tmp_path), tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: scheduler.nodes.get("local-1") is not None, 20, "join")
            await pilot.pause(0.2)  # the nodes table shows it (and has a cursor row)
            app.search_screen.nodes_table.focus()
            await pilot.press("enter")  # the node's detail
            assert isinstance(app.screen, NodeDetailScreen)
            assert "version of sklearn" in app.screen.text.plain
            assert "127.0.0.1" in app.screen.text.plain
            await pilot.press("escape")
            await pilot.press("d")
            assert scheduler.nodes.get("local-1").draining
            await until(pilot, lambda: "draining" in log_text(app), 5, "drain logged")
            await pilot.press("d")
            assert not scheduler.nodes.get("local-1").draining
            await pilot.press("n")
            await until(pilot, lambda: scheduler.nodes.get("local-2") is not None, 20, "+node")
            assert host_of(app).running.local.running() == ["local-1", "local-2"]
            await pilot.press("k")  # the cursor is on local-1
            await until(
                pilot, lambda: scheduler.nodes.get("local-1").gone == "left", 20, "node left"
            )
            await until(
                pilot,
                lambda: host_of(app).running.local.running() == ["local-2"],
                10,
                "local-1 exits",
            )
            await until(pilot, lambda: scheduler.state == "finished", 30, "finish on local-2")
        counts = [t.attempts for t in scheduler.ledger.trials.values()]
        assert all(t.status == "ok" for t in scheduler.ledger.trials.values()), counts

    asyncio.run(scenario())


def test_trial_keys_detail_sort_and_retry_failed(tmp_path: Path) -> None:
    search = write_search(tmp_path, space='fail = { type = "choice", values = [false, true] }')
    app = make_app(search, tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: scheduler.state == "finished", 30, "first pass")
            await pilot.pause(0.3)
            table = app.query_one(TrialsTable)
            assert [row[0] for row in table_rows(table)] == ["1", "0"]  # newest first
            await pilot.press("s")
            assert [row[0] for row in table_rows(table)] == ["0", "1"]  # best first
            assert "best first" in str(app.query_one("#trials-box").border_title)
            await pilot.press("s")
            assert [row[0] for row in table_rows(table)] == ["1", "0"]  # failed first
            await pilot.press("s", "s")  # back round to newest, then best again
            assert [row[0] for row in table_rows(table)] == ["0", "1"]
            table.focus()
            await pilot.press("down", "i")  # the failed trial
            assert isinstance(app.screen, TrialDetailScreen)
            assert "asked to fail" in app.screen.text.plain
            await pilot.press("escape")
            first_attempts = scheduler.ledger.trials[1].attempts
            assert first_attempts == 1, first_attempts  # the trial's own error is not retried
            await pilot.press("f")
            # A finished search has stopped serving: `f` reopens its checkpoint (a new
            # scheduler, after the pre-flight), then retries the failed trial there.
            await until(pilot, lambda: "retrying 1 failed trial(s)" in log_text(app), 20, "retry")
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: scheduler.ledger.trials[1].attempts == 2, 20, "re-run")
            await until(pilot, lambda: scheduler.state == "finished", 20, "second pass")
            assert scheduler.ledger.trials[0].attempts == 1  # the scored trial is kept, not re-run

    asyncio.run(scenario())


def test_stop_resume_and_quit_ask_first_and_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "ck.toml"
    app = make_app(slow_search(tmp_path), checkpoint, local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: scheduler.ledger.done >= 1, 30, "a first result")
            await until(pilot, lambda: app.search_state == "running", 10, "running shown")
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            assert scheduler.state == "running"
            await pilot.press("x", "y")
            await until(pilot, lambda: scheduler.state == "stopped", 10, "stopped")
            # `r` applies to the state the screen shows, which the 10 Hz feed brings a moment
            # after the scheduler's: a key pressed before that is (rightly) ignored.
            await until(pilot, lambda: app.search_state == "stopped", 10, "stopped shown")
            saved = load_search(checkpoint).state
            assert saved.status == "stopped"
            assert all(row["status"] in ("ok", "pending") for row in saved.trials)
            await pilot.press("r")  # reopens the checkpoint
            await until(
                pilot, lambda: host_of(app).running.scheduler is not scheduler, 10, "reopened"
            )
            await until(pilot, lambda: app.search_state == "finished", 30, "finish")
            await pilot.press("q", "n")
            assert app.is_running
            await pilot.press("q", "y")
            await until(pilot, lambda: not app.is_running, 20, "the app to exit")

    asyncio.run(scenario())
    assert app.return_code == 0
    rows = load_search(checkpoint).state.trials
    assert len(rows) == 7 and all(row["status"] == "ok" for row in rows)
    assert all(row["attempts"] in (1, 2) for row in rows), rows


def test_help_lists_every_key_and_the_palette_offers_every_action(tmp_path: Path) -> None:
    app = make_app(slow_search(tmp_path), tmp_path / "ck.toml")

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            commands = [c.title for c in app.get_system_commands(app.screen)]
            for expected in ("Pause (p)", "Export (e)", "Open (o)", "Drain (d)", "Quit (q)"):
                assert expected in commands
            assert "Resume (r)" not in commands  # not paused: nothing to resume
            await pilot.press("ctrl+p")
            await pilot.press(*"pause")
            await pilot.press("enter")
            await until(
                pilot, lambda: host_of(app).running.scheduler.state == "paused", 5, "paused"
            )

    asyncio.run(scenario())


async def _sit_on_leases(endpoint: str, node_id: str, stop: asyncio.Event) -> None:
    """A node that joins, takes trials and heartbeats them, but never reports on one."""
    sock = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    held: list[p.HeldLease] = []
    sock.send_multipart(p.encode(p.Hello(node_id, p.PROTOCOL_VERSION, 1, 0, "sitter", (), {})))
    try:
        while not stop.is_set():
            while await sock.poll(0):
                msg = p.decode(await sock.recv_multipart())
                if isinstance(msg, p.Task):
                    held.append(p.HeldLease(msg.lease_id, msg.trial_id, 1, msg.search, msg.params))
            await sock.send_multipart(p.encode(p.Heartbeat(node_id, tuple(held))))
            await asyncio.sleep(0.1)
    finally:
        sock.close()


def test_a_quarantined_node_is_shown_and_d_releases_it(tmp_path: Path) -> None:
    """A node that heartbeats but sits on its trials past their deadline, three times in a
    row, is quarantined, shown so, and `d` releases it; the trials it held pay nothing."""
    values = ", ".join(f"{0.1 + i / 1000:.3f}" for i in range(40))  # 2 folds: ~0.2 s a trial
    search = write_search(
        tmp_path,
        space=f'seconds = {{ type = "choice", values = [{values}] }}',
        cv=2,
        extra_search="trial_timeout_s = 1\n",
    )
    app = make_app(search, tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: scheduler.ledger.done >= 1, 30, "the real node works")
            stop = asyncio.Event()
            sitter = asyncio.create_task(_sit_on_leases(scheduler.endpoint, "sitter", stop))
            node = lambda: scheduler.nodes.get("sitter")  # noqa: E731
            try:
                await until(
                    pilot, lambda: node() is not None and node().quarantined, 30, "quarantine"
                )
                await until(
                    pilot,
                    lambda: (
                        "quarantined" in [r[6] for r in table_rows(app.search_screen.nodes_table)]
                    ),
                    5,
                    "the nodes table shows it",
                )
                assert "quarantined after 3 faults in a row" in log_text(app)
                assert scheduler.core.leases.count("sitter") == 0  # it gets nothing more
                app.search_screen.nodes_table.move_cursor(
                    row=app.search_screen.nodes_table.get_row_index("sitter")
                )
                await pilot.press("d")
                assert not node().quarantined
            finally:
                stop.set()
                await sitter
            await until(pilot, lambda: scheduler.state == "finished", 60, "the search to end")
        # Every trial scored: those the sitter held went back at no cost to their retries.
        assert all(t.status == "ok" for t in scheduler.ledger.trials.values())

    asyncio.run(scenario())


def test_retry_on_a_stopped_search_reopens_it_first(tmp_path: Path) -> None:
    search = write_search(
        tmp_path,
        space='fail = { type = "choice", values = [true, false] }\n'
        'seconds = { type = "choice", values = [0.3, 0.31, 0.32] }',
    )
    app = make_app(search, tmp_path / "ck.toml", local_nodes=1)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            first = host_of(app).running.scheduler
            await until(pilot, lambda: first.ledger.failed >= 1, 30, "a failure")
            await until(pilot, lambda: app.search_state == "running", 10, "running shown")
            await pilot.press("x", "y")
            await until(pilot, lambda: app.search_state == "stopped", 10, "stopped")
            assert not app.search_screen.applies("stop")
            await pilot.press("f")
            await until(pilot, lambda: host_of(app).running.scheduler is not first, 10, "reopened")
            again = host_of(app).running.scheduler
            await until(pilot, lambda: again.state == "finished", 30, "the rest and the retries")
            failed = [t for t in again.ledger.trials.values() if t.status == "failed"]
            assert len(failed) == 3 and any(t.attempts == 2 for t in failed)

    asyncio.run(scenario())
