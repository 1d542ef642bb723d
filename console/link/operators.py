"""Operator keys: who may attach to a console over TCP, and whether they may steer or only watch.

    KEYS/operators/NAME/        one bundle per operator, copied whole to the operator's machine:
        operator.key            the operator's public key; its presence allow-lists them
        operator.key_secret     the operator's keypair (mode 0600)
        console.key             a copy of the console's public key
        role                    "full" (every control) or "read-only" (watch, open details)

Operator keys are not node keys: a node's bundle cannot attach, an operator's cannot join as a
node. The Unix socket needs no key: the file system lets only this user (and root) reach it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from node.curve import (
    CONSOLE,
    PUBLIC_SUFFIX,
    SECRET_SUFFIX,
    KeyFileError,
    Keypair,
    new_keypair,
    read_keypair,
    read_public,
    write_keypair,
    write_public,
)

log = logging.getLogger("hpo.keys")

OPERATORS_DIR = "operators"
OPERATOR = "operator"
ROLE_FILE = "role"
FULL, READ_ONLY = "full", "read-only"
ROLES = (FULL, READ_ONLY)


@dataclass(frozen=True)
class Operator:
    name: str
    role: str

    @property
    def full_control(self) -> bool:
        return self.role == FULL


@dataclass(frozen=True)
class OperatorKeys:
    """What an attaching operator needs: their keypair and the console's public key."""

    own: Keypair
    console_public: bytes
    name: str


def write_operator_bundle(bundle: Path, console_public: bytes, role: str) -> None:
    bundle.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_keypair(bundle, OPERATOR, new_keypair(), f"operator keypair for {bundle.name} ({role})")
    header = "#   the public key of the console this operator may attach to\n"
    write_public(bundle / f"{CONSOLE}{PUBLIC_SUFFIX}", console_public, header)
    (bundle / ROLE_FILE).write_text(role + "\n", encoding="utf-8")


def read_operators(keys_folder: Path) -> dict[bytes, Operator]:
    """Public key -> operator, for every readable bundle; a broken one is logged and skipped."""
    folder = keys_folder / OPERATORS_DIR
    if not folder.is_dir():
        return {}
    allowed: dict[bytes, Operator] = {}
    for key_file in sorted(folder.glob(f"*/{OPERATOR}{PUBLIC_SUFFIX}")):
        bundle = key_file.parent
        try:
            role = _role(bundle)
            allowed[read_public(key_file)] = Operator(bundle.name, role)
        except KeyFileError as exc:
            log.warning("operator key skipped: %s", exc)
    return allowed


def _role(bundle: Path) -> str:
    try:
        role = (bundle / ROLE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        raise KeyFileError(f"{bundle / ROLE_FILE}: missing (write 'full' or 'read-only')") from None
    if role not in ROLES:
        raise KeyFileError(f"{bundle / ROLE_FILE}: {role!r} is not 'full' or 'read-only'")
    return role


def load_operator_keys(bundle: Path) -> OperatorKeys:
    """An operator's bundle (a copy of KEYS/operators/NAME); KeyFileError naming what is wrong."""
    if not bundle.is_dir():
        raise KeyFileError(
            f"{bundle}: no such key folder (copy KEYS/operators/NAME from the console's host)"
        )
    return OperatorKeys(
        own=read_keypair(bundle / f"{OPERATOR}{SECRET_SUFFIX}"),
        console_public=read_public(bundle / f"{CONSOLE}{PUBLIC_SUFFIX}"),
        name=bundle.name,
    )
