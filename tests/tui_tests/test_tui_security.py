"""The TUI with CURVE keys: refused peers appear in the log, key problems are shown, not fatal."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from console.link import keys_cli
from console.tui.widgets.status_bar import StatusBar
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, text_of, until

pytestmark = pytest.mark.timeout(120)

# A ZMTP 3.0 greeting offering the NULL mechanism (no CURVE): signature, version, mechanism
# (20 bytes), as-server, filler; 64 bytes in all (rfc.zeromq.org/spec/23).
NULL_GREETING = b"\xff" + bytes(8) + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + bytes(32)


def test_a_plaintext_peer_is_refused_and_logged_while_local_nodes_run(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys_cli.init(folder, exist_ok=False)
    search = write_search(tmp_path, strategy="random", max_trials=8)
    app = make_app(search, tmp_path / "ck.toml", local_nodes=1, keys_dir=str(folder))

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scheduler = host_of(app).running.scheduler
            await until(pilot, lambda: bool(scheduler.endpoint), 10, "the console listening")
            # A peer that speaks ZMTP without CURVE and waits for the console's verdict. (A
            # plaintext zmq socket may read the console's greeting first and hang up itself,
            # which the console rightly does not call a refusal: on a busy machine every try
            # can go that way.)
            host, port = scheduler.endpoint.removeprefix("tcp://").rsplit(":", 1)
            plaintext = socket.create_connection((host, int(port)), timeout=10)
            plaintext.sendall(NULL_GREETING)
            try:
                await until(
                    pilot,
                    lambda: "refused a connection from 127.0.0.1" in log_text(app),
                    30,
                    "the refusal in the log",
                    seen=lambda: log_text(app)[-1500:],
                )
            finally:
                plaintext.close()
            assert "does not use CURVE" in log_text(app)
            # The console's own nodes got an allow-listed key and finish the search.
            await until(pilot, lambda: app.search_state == "finished", 60, "search finished")
            assert scheduler.nodes.get("local-1").key_name == "(local nodes)"

    asyncio.run(scenario())


def test_a_missing_key_folder_is_shown_and_nothing_listens(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-keys"
    app = make_app(write_search(tmp_path), tmp_path / "ck.toml", keys_dir=str(missing))

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.search_state == "error", 10, "the key error")
            shown = f"{missing}: no such key folder"
            await until(pilot, lambda: shown in log_text(app), 5, "the key error in the log")
            assert "ERROR" in text_of(app.query_one(StatusBar))
            assert host_of(app).running.scheduler.endpoint == ""  # never bound

    asyncio.run(scenario())
