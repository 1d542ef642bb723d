"""`hpo-console`: open a search file and run it (the TUI, or --headless)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from pathlib import Path

from console.link.keyring import InsecureBind, open_link
from console.local_nodes import default_slots
from console.running_search import LaunchOptions
from console.scheduler.checkpoint_lock import CheckpointLock, CheckpointLocked
from console.searchfile.session import CheckpointConflict, OpenedSearch, open_search
from console.searchfile.toml_io import SearchFileError
from node import package_version
from node.curve import KeyFileError

EXIT_BAD_INPUT = 2

# `hpo-console SUBCOMMAND ...`: each lives in its own module with its own `main(argv) -> int`.
# Anything else is a search file to open, so `hpo-console sample.toml` stays the short form.
SUBCOMMANDS: dict[str, str] = {
    "attach": "console.attach.cli",
    "export": "console.store.store_cli",
    "pull": "console.store.store_cli",
    "dataset": "console.store.store_cli",
    "keys": "console.link.keys_cli",
    "results": "console.results_cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console",
        description="Run a hyperparameter search described by a TOML search file. "
        "Reopen a checkpoint (runs/NAME.toml) to resume it.",
        epilog="Other commands: 'hpo-console export CHECKPOINT' (best model to the object "
        "store), 'hpo-console pull s3://BUCKET/SEARCH/best.json -o FILE', "
        "'hpo-console dataset push FILE s3://BUCKET/KEY', 'hpo-console keys init|add-node|"
        "list|remove-node' (CurveZMQ keys for the node link), 'hpo-console results "
        "CHECKPOINT' (the trials as a table, CSV or JSON), 'hpo-console attach [CHECKPOINT | "
        "ADDRESS]' (the TUI on a search another console runs; q detaches); each has --help.",
    )
    parser.add_argument("file", type=Path, help="search file, or a saved checkpoint to resume")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no TUI: live progress on the terminal, best trial printed at the end",
    )
    parser.add_argument(
        "--bind",
        default=os.environ.get("HPO_BIND"),
        help="address to listen on, e.g. tcp://0.0.0.0:5555 (env HPO_BIND; overrides "
        "[cluster] bind). Beyond loopback it needs --keys, or --insecure",
    )
    parser.add_argument(
        "--keys",
        metavar="DIR",
        default=os.environ.get("HPO_KEYS_DIR"),
        help="CurveZMQ key folder from 'hpo-console keys init' (env HPO_KEYS_DIR; overrides "
        "[cluster] keys_dir): encrypt the node link and accept only allow-listed node keys",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening beyond loopback without keys (any host that reaches the port "
        "can join): only on a network you trust",
    )
    parser.add_argument(
        "--control-bind",
        metavar="ADDR",
        default=os.environ.get("HPO_CONTROL_BIND"),
        help="also let operators attach over TCP here, e.g. tcp://0.0.0.0:5556 (env "
        "HPO_CONTROL_BIND; needs --keys: only allow-listed operator keys get in). The Unix "
        "socket for this user is always served",
    )
    parser.add_argument(
        "--local-nodes",
        type=int,
        metavar="N",
        help="node processes to start on this machine (overrides [cluster])",
    )
    parser.add_argument(
        "--local-slots",
        type=int,
        metavar="N",
        help="trial slots per local node (default: cores / local nodes)",
    )
    parser.add_argument(
        "--save-to", type=Path, metavar="PATH", help="checkpoint file (default runs/NAME.toml)"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over even if the checkpoint file already holds this search",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        metavar="S",
        default=_env_float("HPO_STALL_TIMEOUT_S"),
        help="headless: when work remains and no node can take it (none connected, all "
        "quarantined or draining) for S seconds, stop and exit 1 (env HPO_STALL_TIMEOUT_S; "
        "overrides [cluster] stall_timeout_s, default 600; 0 waits forever)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--log-level", default="WARNING", help="log level for diagnostics")
    return parser


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    try:
        return float(value) if value else None
    except ValueError:
        _fail(f"{name} must be a number of seconds, got {value!r}")
        return None


def _fail(message: str) -> None:
    print(f"hpo-console: {message}", file=sys.stderr)
    raise SystemExit(EXIT_BAD_INPUT)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        return module.main(argv)
    args = build_parser().parse_args(argv)
    use_tui = not args.headless and _on_a_screen()
    try:
        opened = open_search(args.file, save_to=args.save_to, fresh=args.fresh)
    except SearchFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except CheckpointConflict as exc:
        _fail(str(exc))
    if opened.note:
        print(opened.note)
    _preflight(opened, args.file)
    spec = opened.spec
    local_nodes = spec.cluster.local_nodes if args.local_nodes is None else args.local_nodes
    local_slots = args.local_slots or spec.cluster.local_slots or default_slots(local_nodes)
    if local_nodes < 0 or local_slots < 1:
        _fail("--local-nodes must be >= 0 and --local-slots >= 1")
    options = _launch_options(args)
    _check_link(opened, options)
    if args.control_bind and not (options.keys_dir or spec.cluster.keys_dir):
        _fail("--control-bind needs --keys: operators attach over TCP with CURVE keys only")
    _check_lock(opened)
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if use_tui:  # the screen belongs to the TUI: diagnostics go to a file next to the checkpoint
        log_file = opened.checkpoint.parent / f"{opened.checkpoint.stem}.logs" / "console.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(level=args.log_level.upper(), filename=log_file, format=log_format)
        return _run_tui(opened, options, args.control_bind)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format=log_format)
    if not args.headless:
        print("hpo-console: not a terminal, so running headless", file=sys.stderr)
    from console.headless import run_headless

    return asyncio.run(run_headless(opened, options, control_bind=args.control_bind))


def _on_a_screen() -> bool:
    """A terminal, or a browser tab: textual-serve (`attach --web`) runs each tab's process on
    pipes with Textual's web driver, and that is the TUI's screen too."""
    from console.attach.web import served_to_a_browser

    return (sys.stdin.isatty() and sys.stdout.isatty()) or served_to_a_browser()


def _launch_options(args: argparse.Namespace) -> LaunchOptions:
    if args.stall_timeout is not None and args.stall_timeout < 0:
        _fail("--stall-timeout must be >= 0 (0: wait forever)")
    return LaunchOptions(
        args.local_nodes, args.local_slots, args.bind, args.keys, args.insecure, args.stall_timeout
    )


def _preflight(opened: OpenedSearch, path: Path) -> None:
    """Data, pipeline, metrics and CV are checked together before any node gets a trial."""
    from console.searchfile.preflight import check

    report = check(opened.spec)
    for note in report.notes:
        print(f"hpo-console: pre-flight: {note}", file=sys.stderr)
    if report.errors:
        from console.searchfile.tomlcheck import locate

        try:  # the key's line in the file, as for the search file's own errors
            lines = "\n".join(locate(str(path), path.read_text(), report.errors))
        except (OSError, UnicodeDecodeError):
            lines = "\n".join(f"{path}: {error}" for error in report.errors)
        _fail(f"pre-flight check failed, nothing was dispatched:\n{lines}")
    logging.getLogger(__name__).info("pre-flight check passed in %.2f s", report.seconds)


def _check_link(opened: OpenedSearch, options: LaunchOptions) -> None:
    """Key and address problems stop the console here, before any screen or node starts."""
    try:
        open_link(*options.link(opened.spec.cluster), options.insecure)
    except (KeyFileError, InsecureBind) as exc:
        _fail(f"{exc}")


def _check_lock(opened: OpenedSearch) -> None:
    """Another console on this checkpoint stops this one here, before any screen starts (the
    scheduler takes the lock for real when it starts)."""
    try:
        CheckpointLock(opened.checkpoint).check_free()
    except CheckpointLocked as exc:
        _fail(str(exc))


def _run_tui(opened: OpenedSearch, options: LaunchOptions, control_bind: str | None) -> int:
    from console.tui.app import ConsoleApp

    app = ConsoleApp.running_here(opened, options, control_bind=control_bind)
    app.run()
    for line in app.farewell():  # what a person wants on the terminal once the screen is gone
        print(line)
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
