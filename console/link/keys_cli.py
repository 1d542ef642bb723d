"""`hpo-console keys init|add-node|add-operator|list|remove-node|remove-operator`: CurveZMQ keys
for the node link and for operators attaching over TCP."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from console.link.keyring import read_allow_list
from console.link.operators import (
    FULL,
    OPERATOR,
    OPERATORS_DIR,
    READ_ONLY,
    read_operators,
    write_operator_bundle,
)
from node.curve import (
    CONSOLE,
    NODE,
    NODES_DIR,
    SECRET_SUFFIX,
    KeyFileError,
    Keypair,
    new_keypair,
    read_keypair,
    write_keypair,
    write_node_bundle,
)

EXIT_BAD_INPUT = 2
_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeysError(RuntimeError):
    pass


def init(folder: Path, exist_ok: bool) -> str:
    secret = folder / f"{CONSOLE}{SECRET_SUFFIX}"
    if secret.exists():
        if exist_ok:
            return f"{folder}: keys already there, left as they are"
        raise KeysError(
            f"{secret} already exists: making new console keys would lock out every node "
            "(pass --exist-ok to keep them, or remove the folder to start over)"
        )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / NODES_DIR).mkdir(exist_ok=True, mode=0o700)
    write_keypair(folder, CONSOLE, new_keypair(), "console keypair")
    return (
        f"created the console's keys in {folder}\n"
        f"next: 'hpo-console keys add-node {folder} NAME' for each node (or group of nodes), "
        f"then run the console with --keys {folder}"
    )


def add_node(folder: Path, name: str, exist_ok: bool) -> str:
    if not _NODE_NAME.fullmatch(name):
        raise KeysError(f"node name {name!r}: use letters, digits, '.', '-' or '_' (at most 64)")
    console_pair = _console_keypair(folder)
    bundle = folder / NODES_DIR / name
    if (bundle / f"{NODE}{SECRET_SUFFIX}").exists():
        if exist_ok:
            return f"{bundle}: node keys already there, left as they are"
        raise KeysError(f"{bundle} already exists (remove-node it first, or pass --exist-ok)")
    bundle.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_node_bundle(bundle, console_pair.public, f"node keypair for {name}")
    return (
        f"created node keys in {bundle}; the console accepts them from now on.\n"
        f"copy that folder to the node's host and run: hpo-node --connect tcp://CONSOLE:5555 "
        f"--keys PATH/{name}"
    )


def add_operator(folder: Path, name: str, read_only: bool, exist_ok: bool) -> str:
    if not _NODE_NAME.fullmatch(name):
        raise KeysError(
            f"operator name {name!r}: use letters, digits, '.', '-' or '_' (at most 64)"
        )
    console_pair = _console_keypair(folder)
    bundle = folder / OPERATORS_DIR / name
    if (bundle / f"{OPERATOR}{SECRET_SUFFIX}").exists():
        if exist_ok:
            return f"{bundle}: operator keys already there, left as they are"
        raise KeysError(f"{bundle} already exists (remove-operator it first, or pass --exist-ok)")
    role = READ_ONLY if read_only else FULL
    write_operator_bundle(bundle, console_pair.public, role)
    return (
        f"created {role} operator keys in {bundle}.\n"
        f"copy that folder to the operator's machine; they attach with: hpo-console attach "
        f"tcp://CONSOLE:5556 --key PATH/{name} (the console needs --control-bind and --keys)"
    )


def remove_operator(folder: Path, name: str) -> str:
    bundle = folder / OPERATORS_DIR / name
    if not _NODE_NAME.fullmatch(name) or not bundle.is_dir():
        raise KeysError(f"{bundle}: no such operator (see 'hpo-console keys list {folder}')")
    shutil.rmtree(bundle)
    return f"removed operator {name}: refused from their next connection on"


def _console_keypair(folder: Path) -> Keypair:
    if not (folder / f"{CONSOLE}{SECRET_SUFFIX}").exists():
        raise KeysError(f"{folder}: not a key folder (run 'hpo-console keys init {folder}' first)")
    return read_keypair(folder / f"{CONSOLE}{SECRET_SUFFIX}")


def list_nodes(folder: Path) -> str:
    _console_keypair(folder)  # a folder that is not a key dir says so
    allowed = read_allow_list(folder / NODES_DIR)
    operators = read_operators(folder)
    if not allowed and not operators:
        return (
            f"{folder}: no node keys yet (add one with 'hpo-console keys add-node {folder} NAME')"
        )
    rows = [f"{name:24} {public.decode()}" for public, name in sorted(allowed.items(), key=_name)]
    lines = [f"{'node':24} public key", *rows] if rows else []
    if operators:
        ordered = sorted(operators.items(), key=lambda item: item[1].name)
        lines += ["", f"{'operator':24} {'role':10} public key"]
        lines += [f"{op.name:24} {op.role:10} {public.decode()}" for public, op in ordered]
    return "\n".join(lines)


def _name(item: tuple[bytes, str]) -> str:
    return item[1]


def remove_node(folder: Path, name: str) -> str:
    bundle = folder / NODES_DIR / name
    if not _NODE_NAME.fullmatch(name) or not bundle.is_dir():
        raise KeysError(f"{bundle}: no such node bundle (see 'hpo-console keys list {folder}')")
    shutil.rmtree(bundle)
    return (
        f"removed {name}: the console refuses its key from the next connection on "
        "(a node connected now keeps its session until it reconnects or the console restarts)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console keys",
        description="CurveZMQ keys for the node link: the console accepts only nodes whose key "
        "is under DIR/nodes/. Secret files are created with mode 0600.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_init = sub.add_parser("init", help="create DIR and the console's keypair")
    p_init.add_argument("dir", type=Path)
    p_init.add_argument("--exist-ok", action="store_true", help="do nothing if keys exist")
    p_add = sub.add_parser("add-node", help="create DIR/nodes/NAME: a bundle to copy to a node")
    p_add.add_argument("dir", type=Path)
    p_add.add_argument("name")
    p_add.add_argument("--exist-ok", action="store_true", help="do nothing if NAME exists")
    p_list = sub.add_parser("list", help="the node names and keys the console accepts")
    p_list.add_argument("dir", type=Path)
    p_remove = sub.add_parser("remove-node", help="revoke NAME (deletes DIR/nodes/NAME)")
    p_remove.add_argument("dir", type=Path)
    p_remove.add_argument("name")
    p_op = sub.add_parser(
        "add-operator",
        help="create DIR/operators/NAME: a bundle an operator attaches over TCP with",
    )
    p_op.add_argument("dir", type=Path)
    p_op.add_argument("name")
    p_op.add_argument(
        "--read-only", action="store_true", help="may watch and open details, not steer"
    )
    p_op.add_argument("--exist-ok", action="store_true", help="do nothing if NAME exists")
    p_rm_op = sub.add_parser("remove-operator", help="revoke operator NAME")
    p_rm_op.add_argument("dir", type=Path)
    p_rm_op.add_argument("name")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv[1:])  # argv[0] is "keys"
    try:
        if args.command == "init":
            message = init(args.dir, args.exist_ok)
        elif args.command == "add-node":
            message = add_node(args.dir, args.name, args.exist_ok)
        elif args.command == "add-operator":
            message = add_operator(args.dir, args.name, args.read_only, args.exist_ok)
        elif args.command == "list":
            message = list_nodes(args.dir)
        elif args.command == "remove-operator":
            message = remove_operator(args.dir, args.name)
        else:
            message = remove_node(args.dir, args.name)
    except (KeysError, KeyFileError) as exc:
        print(f"hpo-console keys: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"hpo-console keys: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(message)
    return 0
