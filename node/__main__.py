"""`hpo-node`: a headless worker that connects to a console and runs trials.

Every flag has an environment variable, so a compose file can configure nodes without a command.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from node import package_version
from node.curve import KeyFileError, NodeKeys, load_node_keys


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-node",
        description="Run zmq-hpo trials for a console. SIGTERM hands running trials back.",
    )
    parser.add_argument(
        "--connect",
        default=_env("HPO_CONNECT", "tcp://127.0.0.1:5555"),
        help="console address (env HPO_CONNECT; default %(default)s)",
    )
    parser.add_argument(
        "--slots",
        type=int,
        default=int(_env("HPO_SLOTS", "0") or 0),
        help="trials run at once (env HPO_SLOTS; default: CPU count)",
    )
    parser.add_argument(
        "--node-id",
        default=_env("HPO_NODE_ID"),
        help="stable name for this node (env HPO_NODE_ID; default HOST-PID)",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=float(_env("HPO_HEARTBEAT_S", "1.0")),
        help="seconds between heartbeats until the console sets it (default 1)",
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        default=int(_env("HPO_PREFETCH", "0") or 0),
        help="extra tasks to hold beyond --slots, for very short trials (default 0)",
    )
    parser.add_argument(
        "--keys",
        type=Path,
        default=_env("HPO_NODE_KEYS"),
        metavar="DIR",
        help="CurveZMQ key bundle from the console's 'hpo-console keys add-node' "
        "(env HPO_NODE_KEYS); without it the node speaks plaintext",
    )
    parser.add_argument(
        "--exit-when-done",
        action="store_true",
        default=_env("HPO_EXIT_WHEN_DONE", "") not in ("", "0"),
        help="exit 0 when the console says its search is over (env HPO_EXIT_WHEN_DONE=1); "
        "by default the node waits quietly for the next console",
    )
    parser.add_argument(
        "--keys-wait",
        type=float,
        default=float(_env("HPO_KEYS_WAIT_S", "0") or 0),
        metavar="SECONDS",
        help="wait up to this long for the --keys bundle to appear, e.g. while a console "
        "container makes it (env HPO_KEYS_WAIT_S; default 0: fail at once)",
    )
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument(
        "--log-level",
        default=_env("HPO_LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING (env HPO_LOG_LEVEL)",
    )
    return parser


class EarlyStop:
    """SIGTERM/SIGINT before the supervisor runs: remembered, not fatal.

    Loading scikit-learn and starting the trial processes takes seconds. Until the supervisor
    installs its own handlers, Python's defaults would let `docker stop` kill the node (exit 143)
    or raise KeyboardInterrupt; this handler, installed first thing, turns either into a clean
    exit 0 once the supervisor exists (it hands back nothing: it never connected).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.target: object | None = None  # the supervisor, once made: told to stop at once

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signum = signum
        if self.target is not None:
            self.target.stop_requested = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    early = EarlyStop()
    early.install()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    if not args.connect.startswith("tcp://"):
        print(f"hpo-node: --connect must be tcp://HOST:PORT, got {args.connect!r}", file=sys.stderr)
        return 2
    if args.slots < 0 or args.prefetch < 0 or args.heartbeat <= 0:
        print("hpo-node: --slots and --prefetch must be >= 0, --heartbeat > 0", file=sys.stderr)
        return 2
    try:
        keys = _load_keys(args.keys, args.keys_wait, early) if args.keys is not None else None
    except KeyFileError as exc:
        print(f"hpo-node: --keys: {exc}", file=sys.stderr)
        return 2
    if early.signum is not None:
        return _stopped_early(early.signum)
    # Imported late so `--help` answers instantly, without loading scikit-learn.
    from node.worker import NodeConfig, NodeSupervisor

    if early.signum is not None:
        return _stopped_early(early.signum)

    config = NodeConfig(
        connect=args.connect,
        slots=args.slots or (os.cpu_count() or 1),
        heartbeat_s=args.heartbeat,
        prefetch=args.prefetch,
        parent_pid=args.parent_pid,
        keys=keys,
        exit_when_done=args.exit_when_done,
    )
    if args.node_id:
        config.node_id = args.node_id
    try:
        supervisor = NodeSupervisor(config)  # starts the slot processes: the slow part
    except (EOFError, OSError):
        # A stop sent to our whole process group also ends the fork server as it makes the
        # slots, and the slot being made sees EOF: that is the stop, not a failure.
        if early.signum is not None:
            return _stopped_early(early.signum)
        raise
    early.target = supervisor
    if early.signum is not None:
        supervisor.stop_requested = True  # run() closes the slots and returns 0 at once
    return supervisor.run()


def _load_keys(folder: Path, wait_s: float, early: EarlyStop) -> NodeKeys:
    """The bundle, polled until it loads (or `wait_s` passes): under compose, the console
    container makes it, and the nodes must not depend on the console to start."""
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            return load_node_keys(folder)
        except KeyFileError:
            if time.monotonic() >= deadline or early.signum is not None:
                raise
            if not said:
                print(f"hpo-node: waiting up to {wait_s:g}s for the key bundle {folder}",
                      file=sys.stderr)  # fmt: skip
                said = True
            time.sleep(0.5)


def _stopped_early(signum: int) -> int:
    name = signal.Signals(signum).name
    print(f"hpo-node: {name} received while starting, stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
