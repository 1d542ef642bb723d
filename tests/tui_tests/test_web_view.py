"""The web view for real: a console process runs a search, `hpo-console attach --web` (a
subprocess) serves an attached TUI per browser tab, headless Chromium opens the page, and the
terminal on the page shows the search.

Chromium is driven over its DevTools protocol (a websocket, through aiohttp, which textual-serve
already brings): no browser-automation package, no browser download, only the system Chromium.
The page's terminal is xterm.js drawing on a canvas, so its text is not in the DOM; textual-serve's
script keeps the xterm Terminal in a closure, as `.terminal` of its view object. A script that
runs before the page's own catches that assignment, and the test reads the screen from xterm's
public buffer API (`buffer.active.getLine(y).translateToString()`): the cells xterm draws.

Without Chromium the test skips, saying why; with HPO_REQUIRE_BROWSER=1 (CI) it fails instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.attach.web import WebViewError, add_web_arguments, check_loopback
from tests.conftest import REPO, wait_until
from tests.tui_tests.attach_fixtures import ConsoleProcess, start_console
from tests.tui_tests.attach_fixtures import runtime_dir as runtime_dir

pytestmark = pytest.mark.timeout(60)

HOST = "127.0.0.1"
ANSWER_WITHIN_S = 10  # for each DevTools command
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def web_command(address: str, port: int) -> list[str]:
    """The web view of a running console: each browser tab is an `hpo-console attach`."""
    return [sys.executable, "-m", "console", "attach", address, "--web", "--port", str(port)]


# Runs in the page before textual-serve's script: it catches the xterm Terminal as the script
# stores it on its view object (`this.terminal = new Terminal(...)`), and keeps it where
# Runtime.evaluate can reach it. Any other `.terminal` assignment behaves as before.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal",
      {value, writable: true, enumerable: true, configurable: true});
    if (value && value.buffer && typeof value.write === "function") window.__xterm = value;
  },
});
"""

# The rows the terminal shows, as text (null until the terminal exists).
READ_SCREEN = """
(() => {
  const term = window.__xterm;
  if (!term) return null;
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()
"""


def browser_binary() -> str:
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    reason = f"no Chromium on PATH (looked for {', '.join(BROWSERS)}): apt-get install chromium"
    if os.environ.get("HPO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"HPO_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process and everything it started (its own group), SIGKILL if slow."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(proc):
            return
        os.killpg(proc.pid, signum)
        try:
            wait_until(lambda: not _group_alive(proc), 10, f"process group {proc.pid} to end")
            return
        except AssertionError:
            if signum == signal.SIGKILL:
                raise


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    """The leader not yet reaped, or anything else left in its group."""
    if proc.poll() is None:
        return True
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # whatever the env says


def answers(url: str) -> bool:
    try:
        with NO_PROXY.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def console(tmp_path: Path, runtime_dir: Path) -> Iterator[ConsoleProcess]:
    yield from start_console(tmp_path)


@pytest.fixture
def web_server(
    tmp_path: Path, console: ConsoleProcess
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`hpo-console attach --web` on a running console; yields its URL, the process and its
    log. Killed with every tab's process at the end, whatever happened."""
    port = free_port()
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            web_command(console.address, port),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            start_new_session=True,  # its group holds every tab's process too
        )
    url = f"http://{HOST}:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or answers(url), 20, f"the web view on {url}")
        assert proc.poll() is None, f"the web view exited: {log.read_text(errors='replace')}"
        yield url, proc, log
    finally:
        stop_group(proc)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[int]:
    """Headless Chromium with the DevTools protocol on a loopback port (yielded). Every host name
    but 127.0.0.1 resolves to nothing, so the page's web-font link goes nowhere."""
    binary = browser_binary()
    profile = tmp_path / "chromium-profile"
    flags = [
        "--headless",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",  # it picks one, and writes it to DevToolsActivePort
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--no-proxy-server",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
    ]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    port_file = profile / "DevToolsActivePort"
    with (tmp_path / "chromium.log").open("wb") as out:
        proc = subprocess.Popen(
            [binary, *flags, "about:blank"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: proc.poll() is not None or port_file.exists(), 20, "Chromium's DevTools port"
        )
        assert proc.poll() is None, (tmp_path / "chromium.log").read_text(errors="replace")
        wait_until(lambda: port_file.read_text().count("\n") >= 1, 5, "DevToolsActivePort")
        yield int(port_file.read_text().split()[0])
    finally:
        stop_group(proc)


class Page:
    """One Chromium tab over the DevTools protocol: send a command, get its result."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.last_id = 0

    async def send(self, method: str, **params) -> dict:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        while True:  # events (no "id") arrive in between: not needed here
            message = await asyncio.wait_for(self.ws.receive_json(), ANSWER_WITHIN_S)
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise AssertionError(f"DevTools {method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")


async def screen_once_it_shows(
    devtools_port: int, url: str, needles: tuple[str, ...], timeout: float, screenshot: Path
) -> str | None:
    """Open `url` in the browser's tab and poll what its terminal shows until every needle is
    on it; then (or at the deadline) save a screenshot and return the screen's text (None if
    the page's terminal was never caught)."""
    import base64

    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as response:
            targets = await response.json()
        tab = next(target for target in targets if target["type"] == "page")
        async with http.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            page = Page(ws)
            await page.send("Page.enable")  # without it the script below never ran (seen)
            await page.send("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
            await page.send("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            text = None
            while time.monotonic() < deadline:
                text = await page.evaluate(READ_SCREEN)
                if text and all(needle in text for needle in needles):
                    break
                await asyncio.sleep(0.1)
            shot = await page.send("Page.captureScreenshot", format="png")
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return text


def test_the_page_shows_the_search(
    chromium: int, web_server: tuple[str, subprocess.Popen[bytes], Path], tmp_path: Path
) -> None:
    url, server, log = web_server
    needles = ("attached", "Nodes", "Trials", "Log")  # the search's name, panel titles
    screenshot = tmp_path / "page.png"
    screen = asyncio.run(screen_once_it_shows(chromium, url, needles, 30, screenshot))
    assert screen is not None, (
        "the page's xterm Terminal was never caught: textual-serve's script no longer stores "
        f"it as `.terminal` (see CATCH_TERMINAL), or it never ran (screenshot: {screenshot})"
    )
    missing = [needle for needle in needles if needle not in screen]
    assert not missing, (
        f"the page's terminal never showed {missing} (screenshot: {screenshot}); it showed:\n"
        f"{screen}\n--- web view log:\n{log.read_text(errors='replace')}"
    )
    port = url.rsplit(":", 1)[1]
    banner = log.read_text()
    assert f"the web view is at {url}" in banner
    assert f"ssh -N -L {port}:127.0.0.1:{port} " in banner
    # SIGTERM to the web view alone ends the tab's process too (told to quit), not only when
    # the browser closes it: nothing is left running in the web view's process group.
    server.send_signal(signal.SIGTERM)
    wait_until(lambda: not _group_alive(server), 20, "the web view and its tab's TUI to exit")
    assert server.returncode == 0, log.read_text(errors="replace")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    check_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "my-laptop", ""])
def test_any_other_host_is_refused_saying_why(host: str) -> None:
    with pytest.raises(WebViewError, match=r"loopback only.*SSH tunnel"):
        check_loopback(host)


def test_the_cli_refuses_a_wildcard_host_before_listening(tmp_path: Path) -> None:
    port = free_port()
    web = [sys.executable, "-m", "console.attach.web", "--host", "0.0.0.0", "--port", str(port)]
    done = subprocess.run(
        [*web, "--", sys.executable, "-c", "pass"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "refusing to serve the web view on 0.0.0.0" in done.stderr
    assert "ssh -N -L" in done.stderr
    assert not answers(f"http://{HOST}:{port}")


def test_add_web_arguments_gives_attach_its_flags() -> None:
    parser = argparse.ArgumentParser()
    add_web_arguments(parser)
    assert vars(parser.parse_args([])) == {"web": False, "port": 8566, "host": "127.0.0.1"}
    args = parser.parse_args(["--web", "--port", "9000"])
    assert (args.web, args.port) == (True, 9000)
    assert "SSH tunnel" in parser.format_help()
