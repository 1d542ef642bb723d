"""`hpo-node`: a headless worker that connects to a console and runs trials.

Every flag has an environment variable, so a compose file can configure nodes without a command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from node import package_version
from node.curve import KeyFileError, load_node_keys


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
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument(
        "--log-level",
        default=_env("HPO_LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING (env HPO_LOG_LEVEL)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
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
        keys = load_node_keys(args.keys) if args.keys is not None else None
    except KeyFileError as exc:
        print(f"hpo-node: --keys: {exc}", file=sys.stderr)
        return 2
    # Imported late so `--help` answers instantly, without loading scikit-learn.
    from node.worker import NodeConfig, NodeSupervisor

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
    return NodeSupervisor(config).run()


if __name__ == "__main__":
    sys.exit(main())
