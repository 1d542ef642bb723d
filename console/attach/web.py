"""The console in a web browser: `hpo-console attach --web [TARGET]`.

textual-serve serves a page whose terminal (xterm.js) talks to the server over a websocket; for
each browser connection the server starts the served command as a new process, with Textual's
web driver on its stdin/stdout instead of a terminal. The command here is `hpo-console attach
TARGET`, so every browser tab is an attach of its own, and closing the tab ends only that attach.

The page has no authentication of its own, so the server listens on loopback only: from another
machine it is reached through an SSH tunnel, and the SSH login is the authentication.

Standalone, `python -m console.attach.web [--port P] -- COMMAND ...` serves any command the same
way (the tests serve the in-process TUI with it).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ipaddress
import logging
import os
import shlex
import socket
import sys
from collections.abc import Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8566
EXIT_BAD_INPUT = 2
TABS_QUIT_WITHIN_S = 30.0  # on stop, how long the tabs' processes get to quit (checkpoint)

# What textual-serve (and textual-web) set in the environment of each process they start: Textual
# then draws through its web driver, on pipes, not on a terminal.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"


class WebViewError(RuntimeError):
    """The web view cannot start (a host beyond loopback, the port taken, textual-serve
    missing); the message says what to do instead."""


def served_to_a_browser(environ: Mapping[str, str] = os.environ) -> bool:
    """True in a process textual-serve started for a browser tab: its stdin and stdout are pipes
    carrying the web driver's packets, yet the TUI is what it must run."""
    return environ.get("TEXTUAL_DRIVER") == WEB_DRIVER


def attach_command(*args: str) -> list[str]:
    """What each browser tab runs: `hpo-console attach ARGS`, with this same interpreter."""
    return [sys.executable, "-m", "console", "attach", *args]


def check_loopback(host: str) -> None:
    """Refuse any host but a loopback one: the web view has no authentication of its own."""
    bare = host.strip("[]")
    if bare == "localhost":
        return
    try:
        if ipaddress.ip_address(bare).is_loopback:
            return
    except ValueError:  # a host name: it could resolve to any interface
        pass
    raise WebViewError(
        f"refusing to serve the web view on {host}: it has no authentication of its own, so "
        "it listens on loopback only (127.0.0.1, ::1 or localhost). From another machine, "
        "reach it through an SSH tunnel, which is the authentication: "
        f"ssh -N -L {DEFAULT_PORT}:127.0.0.1:{DEFAULT_PORT} USER@THIS_HOST"
    )


def url_of(host: str, port: int) -> str:
    bare = host.strip("[]")
    return f"http://[{bare}]:{port}" if ":" in bare else f"http://{bare}:{port}"


def how_to_open(host: str, port: int) -> str:
    """What to print on start: the URL here, and the tunnel to open from a laptop."""
    bare = host.strip("[]")
    target = f"[{bare}]" if ":" in bare else bare
    login = f"{getpass.getuser()}@{socket.gethostname()}"
    return (
        f"hpo-console: the web view is at {url_of(host, port)} (loopback only; each browser "
        "tab is its own attach)\n"
        "hpo-console: from a laptop, open a tunnel, then the same URL in its browser:\n"
        f"    ssh -N -L {port}:{target}:{port} {login}\n"
        "hpo-console: (keep the laptop's port the same: the page connects back to it)\n"
        "hpo-console: Ctrl-C stops the web view (open tabs end with it)"
    )


def serve_web(
    command: list[str],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    title: str | None = None,
) -> None:
    """Serve `command` (argv; a new process per browser connection) until SIGINT or SIGTERM.

    Raises WebViewError before serving anything if the host is not loopback, textual-serve is
    not installed or the port cannot be had.
    """
    check_loopback(host)
    if not command:
        raise WebViewError("nothing to serve: the command is empty")
    server = _server(command, host, port, title or "hpo-console")
    _check_port_free(host, port)
    server.serve()


def _server(command: list[str], host: str, port: int, title: str):
    """textual-serve's Server, with our banner, and tabs that end when it stops."""
    try:
        from textual_serve.server import Server
    except ImportError as exc:
        raise WebViewError(
            "the web view needs textual-serve: pip install 'zmq-hpo[console]'"
        ) from exc

    class WebView(Server):
        def __init__(self) -> None:
            super().__init__(
                shlex.join(command),  # textual-serve runs it through the shell
                host=host.strip("[]"),
                port=port,
                title=title,
                public_url=url_of(host, port),  # the page's websocket and static URLs
            )
            self.tabs: set[asyncio.Task] = set()

        def initialize_logging(self) -> None:  # warnings and errors, not a line per request
            logging.basicConfig(level=logging.WARNING, format="hpo-console: web view: %(message)s")

        async def on_startup(self, app: object) -> None:  # our banner instead of its logo
            print(how_to_open(host, port), flush=True)

        async def handle_websocket(self, request):  # one browser tab, for as long as it is open
            tab = asyncio.current_task()
            self.tabs.add(tab)
            try:
                return await super().handle_websocket(request)
            finally:
                self.tabs.discard(tab)

        async def on_shutdown(self, app: object) -> None:
            """SIGTERM or Ctrl-C: end every tab (textual-serve then tells its process to quit
            and waits for it), rather than wait for the browsers to close them."""
            tabs = set(self.tabs)
            for tab in tabs:
                tab.cancel()
            if tabs:
                await asyncio.wait(tabs, timeout=TABS_QUIT_WITHIN_S)

    return WebView()


def _check_port_free(host: str, port: int) -> None:
    """Say which port is taken now, rather than let aiohttp fail after the banner is out."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds it
        try:
            probe.bind(("127.0.0.1" if bare == "localhost" else bare, port))
        except OSError as exc:
            raise WebViewError(
                f"cannot listen on {url_of(host, port)}: {exc.strerror}; "
                "pick another port with --port"
            ) from exc


def add_web_arguments(parser: argparse.ArgumentParser) -> None:
    """--web, --port and --host, for `hpo-console attach`."""
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve the console to web browsers instead of this terminal, on "
        "http://127.0.0.1:PORT: loopback only and no login of its own, so from another machine "
        "open an SSH tunnel first (ssh -N -L PORT:127.0.0.1:PORT USER@HOST); each browser tab "
        "is an attach of its own",
    )
    _add_address_arguments(parser)


def _add_address_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"with --web: the port to serve the page on (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"with --web: a loopback address to listen on (default {DEFAULT_HOST}; "
        "anything beyond loopback is refused)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m console.attach.web",
        description="Serve COMMAND (a Textual app) to web browsers on loopback: a new process "
        "per browser connection. 'hpo-console attach --web' serves 'hpo-console attach' so.",
    )
    _add_address_arguments(parser)
    parser.add_argument("--title", help="the page's title (default hpo-console)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG ...]")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        serve_web(command, host=args.host, port=args.port, title=args.title)
    except WebViewError as exc:
        print(f"hpo-console: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
