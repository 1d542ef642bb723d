"""Attach: the full TUI on a search a real console process runs, over its real control socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.attach import registry
from console.attach.client import RemoteLink
from console.attach.registry import AttachError
from console.link import keys_cli
from console.link.operators import load_operator_keys
from console.searchfile.toml_io import load_search
from console.tui.app import ConsoleApp
from console.tui.screens.confirm import ConfirmScreen
from tests.tui_tests.attach_fixtures import ConsoleProcess, start_console
from tests.tui_tests.attach_fixtures import runtime_dir as runtime_dir
from tests.tui_tests.conftest import SIZE, log_text, table_rows, until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def console(tmp_path: Path, runtime_dir: Path) -> Iterator[ConsoleProcess]:
    yield from start_console(tmp_path)


async def wait_for(predicate, timeout: float, what: str) -> None:
    """Poll without a screen (a bare link, a second operator)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        await asyncio.sleep(0.05)


def test_attach_shows_the_search_steers_it_and_q_detaches_leaving_it_running(
    console: ConsoleProcess,
) -> None:
    app = ConsoleApp(RemoteLink(console.address))

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.mirror.ready, 15, "the whole search")
            await until(pilot, lambda: app.mirror.snapshot.finished >= 2, 60, "two trials")
            assert "attached" in app.sub_title
            await until(
                pilot, lambda: len(table_rows(app.search_screen.trials_table)) >= 2, 10, "rows"
            )
            await pilot.press("p")
            await until(pilot, lambda: app.search_state == "paused", 10, "paused")
            await until(pilot, lambda: app.mirror.snapshot.running == 0, 30, "running drained")
            await pilot.press("w")  # checkpoint now: the view must match the file
            await until(pilot, lambda: "saved to" in log_text(app), 10, "saved")
            saved = load_search(console.checkpoint)
            scored = [t for t in saved.state.trials if t["status"] == "ok"]
            snap = app.mirror.snapshot
            assert snap.done == len(scored)
            best = max(scored, key=lambda t: t["score"])
            assert snap.best_trial == best["id"] and snap.best_score == pytest.approx(best["score"])
            shown = {int(row[0]) for row in table_rows(app.search_screen.trials_table)}
            assert {t["id"] for t in scored} <= shown
            await pilot.press("r")
            await until(pilot, lambda: app.search_state == "running", 10, "resumed")
            app.search_screen.trials_table.focus()
            await pilot.press("i")  # a trial's detail comes from the console
            await until(
                pilot, lambda: type(app.screen).__name__ == "TrialDetailScreen", 10, "detail"
            )
            await pilot.press("escape")
            await pilot.press("q")  # detach: no dialog, the search goes on
            await until(pilot, lambda: not app.is_running, 10, "detached")

    asyncio.run(scenario())
    assert console.proc.poll() is None  # the console runs on
    assert "detached" in " ".join(app.farewell())

    async def still_running() -> None:
        link = RemoteLink(console.address)
        await link.start()
        try:
            before = link.mirror.snapshot.finished
            assert link.mirror.snapshot.state == "running"
            await wait_for(lambda: link.mirror.snapshot.finished > before, 30, "more trials")
        finally:
            await link.close()

    asyncio.run(still_running())


def test_two_operators_at_once_see_each_others_controls(console: ConsoleProcess) -> None:
    async def scenario() -> None:
        first, second = RemoteLink(console.address), RemoteLink(console.address)
        await first.start()
        await second.start()
        try:
            await wait_for(lambda: first.mirror.host.operators == 2, 10, "two operators")
            reply = await second.command("pause")
            assert reply.ok, reply.message
            await wait_for(lambda: first.mirror.snapshot.state == "paused", 10, "first sees pause")
            reply = await first.command("resume")
            assert reply.ok, reply.message
            await wait_for(lambda: second.mirror.snapshot.state == "running", 10, "resumed")
            await wait_for(lambda: first.mirror.snapshot.nodes, 30, "the local node")
            nodes = first.mirror.snapshot.nodes
            reply = await second.command("drain", node_id=nodes[0].node_id)
            assert reply.ok and "draining" in reply.message
            reply = await first.command("drain", node_id="no-such-node")
            assert not reply.ok and "no node" in reply.message
            reply = await first.command("no_such_command")
            assert not reply.ok and "unknown command" in reply.message
            # The parameter importance the console computes reaches operators too.
            await wait_for(lambda: first.mirror.importance.over > 0, 30, "importance")
            assert first.mirror.importance.note or first.mirror.importance.ranked
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())
    assert console.proc.poll() is None
    # The headless console's own output says who attached and what they did.
    wait_for_output(console, "local operator detached")
    output = console.log.read_text()
    assert "local operator attached" in output
    assert "local operator: pause" in output and "local operator: resume" in output


def test_attach_finds_the_console_by_checkpoint_or_alone_and_says_when_there_is_none(
    console: ConsoleProcess, tmp_path: Path
) -> None:
    assert registry.find(str(console.checkpoint)) == console.address
    assert registry.find(None) == console.address  # the only one running
    with pytest.raises(AttachError, match="no console is running"):
        registry.find(str(tmp_path / "elsewhere.toml"))
    done = subprocess.run(
        [sys.executable, "-m", "console", "attach", str(tmp_path / "elsewhere.toml")],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2 and "no console is running" in done.stderr


def test_stopping_the_console_tells_the_attached_operator(console: ConsoleProcess) -> None:
    async def scenario() -> None:
        link = RemoteLink(console.address)
        await link.start()
        try:
            os.killpg(console.proc.pid, signal.SIGTERM)  # a headless console checkpoints, exits
            await wait_for(lambda: link.problem is not None, 30, "the console to say bye")
            assert "exited" in link.problem
        finally:
            await link.close()

    asyncio.run(scenario())
    assert console.proc.wait(30) == 0


def test_x_from_an_attached_tui_says_a_headless_console_exits_and_it_does(
    console: ConsoleProcess,
) -> None:
    app = ConsoleApp(RemoteLink(console.address))

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.search_state == "running", 15, "the running search")
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            # "r resumes it" would be false: nothing is left running to resume it.
            assert "headless" in app.screen.detail and "r resumes" not in app.screen.detail
            assert f"hpo-console {console.checkpoint}" in app.screen.detail
            await pilot.press("y")
            await until(pilot, lambda: "exited" in (app.link.problem or ""), 30, "console gone")
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, 10, "the TUI to leave")

    asyncio.run(scenario())
    assert console.proc.wait(30) == 0
    assert load_search(console.checkpoint).state.status == "stopped"
    output = console.log.read_text()
    assert "local operator: stop" in output  # who stopped it
    assert "this headless console then exits" in output


# -- TCP with operator keys ----------------------------------------------------------------------


@pytest.fixture
def keyed_console(tmp_path: Path, runtime_dir: Path) -> Iterator[tuple[ConsoleProcess, Path]]:
    keys = tmp_path / "keys"
    assert keys_cli.main(["keys", "init", str(keys)]) == 0
    assert keys_cli.main(["keys", "add-operator", str(keys), "alice"]) == 0
    assert keys_cli.main(["keys", "add-operator", str(keys), "bob", "--read-only"]) == 0
    assert keys_cli.main(["keys", "add-operator", str(keys), "eve"]) == 0
    shutil.copytree(keys / "operators" / "eve", tmp_path / "eve")  # eve keeps her copy...
    assert keys_cli.main(["keys", "remove-operator", str(keys), "eve"]) == 0  # ...revoked
    assert keys_cli.main(["keys", "add-node", str(keys), "worker"]) == 0
    port = _free_port()
    yield from (
        (proc, keys)
        for proc in start_console(
            tmp_path, "--keys", str(keys), "--control-bind", f"tcp://127.0.0.1:{port}"
        )
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tcp_address(console: ConsoleProcess) -> str:
    (entry,) = [e for e in registry.entries() if e.checkpoint == str(console.checkpoint.resolve())]
    assert entry.tcp.startswith("tcp://127.0.0.1:")
    return entry.tcp


def test_operator_keys_full_read_only_and_unlisted(
    keyed_console: tuple[ConsoleProcess, Path], tmp_path: Path
) -> None:
    console, keys = keyed_console
    address = _tcp_address(console)

    async def scenario() -> None:
        alice = RemoteLink(address, load_operator_keys(keys / "operators" / "alice"))
        bob = RemoteLink(address, load_operator_keys(keys / "operators" / "bob"))
        await alice.start()
        await bob.start()
        try:
            refused = await bob.command("pause")
            assert not refused.ok and "read-only" in refused.message
            await asyncio.sleep(0.5)  # a pause would show within a refresh or two
            assert alice.mirror.snapshot.state == "running"
            await wait_for(lambda: bob.mirror.trials, 30, "a trial")
            some = next(iter(bob.mirror.trials))
            assert (await bob.command("trial_detail", trial_id=some)).ok  # watching is allowed
            assert (await alice.command("pause")).ok
            await wait_for(lambda: bob.mirror.snapshot.state == "paused", 10, "bob sees it")
        finally:
            await alice.close()
            await bob.close()
        eve = RemoteLink(address, load_operator_keys(tmp_path / "eve"), timeout_s=10)
        with pytest.raises(AttachError, match="refused this operator key"):
            await eve.start()
        await eve.close()

    asyncio.run(scenario())
    wait_for_output(console, "refused an operator from")
    output = console.log.read_text()
    assert "alice attached" in output and "bob (read-only) attached" in output
    assert "alice: pause" in output and "bob: pause" not in output


def test_tcp_without_a_key_is_refused_before_connecting(
    keyed_console: tuple[ConsoleProcess, Path],
) -> None:
    console, _keys = keyed_console
    with pytest.raises(AttachError, match="needs an operator key"):
        RemoteLink(_tcp_address(console))


def wait_for_output(console: ConsoleProcess, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in console.log.read_text():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{text!r} never in the console's output:\n{console.log.read_text()}"
            )
        time.sleep(0.05)  # polling a file the console writes, with a deadline
