"""Where a running console can be attached to: a Unix socket per search, found by checkpoint.

Each console listens on `RUNTIME/zmq-hpo-UID/NAME-HASH.sock` (a folder only this user can enter,
so only this user and root can attach through it) and writes `NAME-HASH.json` beside it: its
checkpoint, process id and addresses. `hpo-console attach` reads those files; a console that was
killed leaves a stale entry, which is recognised by its dead process and skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from console.atomicfile import write_atomically


class AttachError(RuntimeError):
    """No console to attach to, or it refused us (the message says what to do)."""


@dataclass(frozen=True)
class Entry:
    name: str  # the search's name
    checkpoint: str
    pid: int
    address: str  # ipc://...
    tcp: str = ""  # the TCP control address, if it listens on one

    @property
    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process with that id: not ours, so stale
            return False
        return True


def runtime_dir() -> Path:
    """This user's folder of console sockets, made private (0700) if new; refused if it is not."""
    chosen = os.environ.get("HPO_RUNTIME_DIR") or os.environ.get("XDG_RUNTIME_DIR")
    # Path("") is the working folder (not writable in the image): only a named folder counts.
    base = Path(chosen) if chosen and Path(chosen).is_dir() else Path(tempfile.gettempdir())
    folder = base / f"zmq-hpo-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise AttachError(f"{folder}: cannot create the consoles' socket folder: {exc}") from None
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise AttachError(
            f"{folder}: must be a folder owned by this user with mode 0700 (someone else could "
            "reach the consoles' sockets): remove it and start the console again"
        )
    return folder


def stem_for(checkpoint: Path) -> str:
    """A short name for a checkpoint's socket: Unix socket paths are limited to ~100 bytes."""
    digest = hashlib.sha256(str(checkpoint.resolve()).encode()).hexdigest()[:12]
    return f"{checkpoint.stem[:24]}-{digest}"


def publish(checkpoint: Path, name: str, address: str, tcp: str = "") -> Path:
    """Write the entry for a console now listening; returns its file (remove it on the way out)."""
    path = runtime_dir() / f"{stem_for(checkpoint)}.json"
    entry = {
        "name": name,
        "checkpoint": str(checkpoint.resolve()),
        "pid": os.getpid(),
        "address": address,
        "tcp": tcp,
    }
    write_atomically(path, json.dumps(entry, indent=1) + "\n")
    return path


def unpublish(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def entries() -> list[Entry]:
    """The consoles of this user that are still running, oldest checkpoint name first."""
    found = []
    for path in sorted(runtime_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = Entry(**{key: data[key] for key in ("name", "checkpoint", "pid", "address")})
            entry = Entry(**{**entry.__dict__, "tcp": str(data.get("tcp", ""))})
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not ours: skip it
        if entry.alive:
            found.append(entry)
    return found


def find(target: str | None) -> str:
    """The address to attach to: given, a checkpoint's console, or the only one running."""
    if target and target.startswith(("ipc://", "tcp://")):
        return target
    running = entries()
    if target:
        wanted = str(Path(target).expanduser().resolve())
        for entry in running:
            if entry.checkpoint == wanted:
                return entry.address
        raise AttachError(
            f"no console is running {target} for this user"
            + (f" (running: {_listing(running)})" if running else "")
        )
    if not running:
        raise AttachError(
            "no console is running for this user on this machine: start one with "
            "'hpo-console SEARCH.toml' (or --headless), or give an address (tcp://HOST:PORT)"
        )
    if len(running) > 1:
        raise AttachError(f"several consoles are running; name one: {_listing(running)}")
    return running[0].address


def _listing(running: list[Entry]) -> str:
    return "; ".join(f"{e.checkpoint} (search {e.name!r}, pid {e.pid})" for e in running)
