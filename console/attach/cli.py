"""`hpo-console attach [RUNS/NAME.toml | ADDRESS]`: the full TUI on a search running elsewhere.

With no argument it attaches to the only console this user runs on this machine (as in
`docker compose exec console hpo-console attach`); with a checkpoint, to the console running it;
with `tcp://HOST:PORT`, to a console's TCP control endpoint (needs `--key`, an operator bundle).
`q` detaches and leaves the search running.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from console.attach.registry import AttachError, find
from node.curve import KeyFileError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console attach",
        description="Open the console's TUI on a search another console process runs (its "
        "TUI or --headless): the live view and every control. q detaches; the search goes on.",
    )
    parser.add_argument(
        "target",
        nargs="?",
        help="the search's checkpoint (runs/NAME.toml), or an address: ipc://PATH or "
        "tcp://HOST:PORT (default: the only console running for this user here)",
    )
    parser.add_argument(
        "--key",
        metavar="DIR",
        type=Path,
        default=os.environ.get("HPO_OPERATOR_KEY"),
        help="operator key bundle for tcp:// (from 'hpo-console keys add-operator'; env "
        "HPO_OPERATOR_KEY)",
    )
    parser.add_argument(
        "--timeout", type=float, default=15.0, metavar="S", help="seconds to wait for the console"
    )
    parser.add_argument("--log-file", type=Path, help="diagnostics log (default: none)")
    try:
        from console.attach.web import add_web_arguments
    except ImportError:  # the web view is optional (textual-serve)
        pass
    else:
        add_web_arguments(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv[1:])  # argv[0] is "attach"
    if args.log_file:
        logging.basicConfig(level=logging.INFO, filename=args.log_file)
    try:
        address = find(args.target)
        keys = None
        if args.key is not None:
            from console.link.operators import load_operator_keys

            keys = load_operator_keys(args.key)
        from console.attach.client import RemoteLink

        link = RemoteLink(address, keys, timeout_s=args.timeout)
    except (AttachError, KeyFileError) as exc:
        print(f"hpo-console attach: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if getattr(args, "web", False):
        return _serve_web(args, address)
    from console.attach.web import served_to_a_browser

    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not served_to_a_browser():
        print("hpo-console attach: needs a terminal (try docker compose exec -it)", file=sys.stderr)
        return EXIT_BAD_INPUT
    from console.tui.app import ConsoleApp

    app = ConsoleApp(link)
    app.run()
    for line in app.farewell():
        print(line)
    return app.return_code or 0


def _serve_web(args: argparse.Namespace, address: str) -> int:
    """Each browser tab runs its own `hpo-console attach ADDRESS` (textual-serve)."""
    from console.attach.web import WebViewError, attach_command, serve_web

    extra = ["--key", str(args.key)] if args.key is not None else []
    try:
        serve_web(attach_command(address, *extra), host=args.host, port=args.port)
    except WebViewError as exc:
        print(f"hpo-console attach: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
