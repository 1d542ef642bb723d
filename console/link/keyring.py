"""The console's side of CurveZMQ: its keypair, the node allow-list, and where it may listen."""

from __future__ import annotations

import ipaddress
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from node.curve import (
    CONSOLE,
    NODE,
    NODES_DIR,
    PUBLIC_SUFFIX,
    SECRET_SUFFIX,
    KeyFileError,
    Keypair,
    read_keypair,
    read_public,
    write_node_bundle,
)

log = logging.getLogger("hpo.keys")

LOCAL_NODES_KEY = "(local nodes)"  # the allow-list name of the console's own nodes' key
_TCP_HOST = re.compile(r"tcp://(\[[^\]]*\]|[^:/]*):(\d+|\*)")


class InsecureBind(ValueError):
    """Listening beyond this machine without keys, and without --insecure."""


@dataclass
class ConsoleKeys:
    """A loaded key directory. The allow-list is re-read when KEYS/nodes changes (see `allowed`)."""

    folder: Path
    own: Keypair
    extra: dict[bytes, str] = field(default_factory=dict)  # in-memory keys (local nodes)
    _listing: dict[bytes, str] = field(default_factory=dict)
    _listing_stamp: tuple[int, ...] | None = None

    @classmethod
    def load(cls, folder: Path) -> ConsoleKeys:
        """KeyFileError with a clear message if the folder or the console's keypair is unusable."""
        if not folder.is_dir():
            raise KeyFileError(
                f"{folder}: no such key folder (create it with 'hpo-console keys init {folder}')"
            )
        keys = cls(folder, read_keypair(folder / f"{CONSOLE}{SECRET_SUFFIX}"))
        keys.allowed()  # read the allow-list now (and log broken entries), not at a handshake
        return keys

    def allow(self, public: bytes, name: str) -> None:
        """Accept a key that is not on disk (the console's own local nodes)."""
        self.extra[public] = name

    def local_bundle(self) -> Path:
        """A fresh keypair for the console's own nodes, allow-listed in memory only, written as
        a node bundle in a private temporary folder (the caller removes it)."""
        folder = Path(tempfile.mkdtemp(prefix="hpo-local-keys-"))  # mode 0700
        pair = write_node_bundle(folder, self.own.public, "the console's local nodes (temporary)")
        self.allow(pair.public, LOCAL_NODES_KEY)
        return folder

    def allowed(self) -> dict[bytes, str]:
        """Public key -> node name, for every bundle under KEYS/nodes plus the in-memory keys."""
        nodes = self.folder / NODES_DIR
        stamp = _stamp(nodes)
        if stamp != self._listing_stamp:
            self._listing = read_allow_list(nodes)
            self._listing_stamp = stamp
        return {**self._listing, **self.extra}


def _stamp(nodes: Path) -> tuple[int, ...]:
    """Changes when a bundle is added or removed (or a key file is replaced)."""
    try:
        entries = [nodes.stat().st_mtime_ns]
        entries += [p.stat().st_mtime_ns for p in nodes.glob(f"*/{NODE}{PUBLIC_SUFFIX}")]
        return tuple(entries)
    except FileNotFoundError:
        return ()


def read_allow_list(nodes: Path) -> dict[bytes, str]:
    """Every readable KEYS/nodes/NAME/node.key; a broken one is logged and skipped, not fatal."""
    if not nodes.is_dir():
        return {}
    allowed: dict[bytes, str] = {}
    for key_file in sorted(nodes.glob(f"*/{NODE}{PUBLIC_SUFFIX}")):
        try:
            allowed[read_public(key_file)] = key_file.parent.name
        except KeyFileError as exc:
            log.warning("node key skipped: %s", exc)
    return allowed


def open_link(
    bind: str, keys_dir: str | Path | None, insecure: bool
) -> tuple[ConsoleKeys | None, str | None]:
    """The keys (None: plaintext) and a warning to show; KeyFileError or InsecureBind if the
    console must not start."""
    keys = None if keys_dir is None else ConsoleKeys.load(Path(keys_dir))
    return keys, check_bind(bind, keys, insecure)


def is_loopback(bind: str) -> bool:
    """The address reaches this machine only (ipc:// and inproc:// count: they are local)."""
    if bind.startswith(("ipc://", "inproc://")):
        return True
    match = _TCP_HOST.fullmatch(bind)
    if match is None:
        return False
    host = match[1].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name or *: could be any interface
        return False


def check_bind(bind: str, keys: ConsoleKeys | None, insecure: bool) -> str | None:
    """Refuse an open port without keys; returns a warning to show when --insecure allows one."""
    if keys is not None or is_loopback(bind):
        return None
    if not insecure:
        raise InsecureBind(
            f"refusing to listen on {bind} without CURVE keys: anyone who can reach the port "
            "could join as a node, read the search and send false scores. Create keys with "
            "'hpo-console keys init DIR' and pass --keys DIR, or pass --insecure on a network "
            "you trust"
        )
    return (
        f"WARNING: listening on {bind} without encryption or authentication (--insecure): "
        "any host that can reach this port can join the search"
    )
