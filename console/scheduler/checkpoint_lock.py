"""One console per checkpoint: an advisory lock on `NAME.toml.lock` next to it.

The lock is an flock(2) on the file, so the kernel releases it when its holder dies, however it
dies: a lock left by a killed console is simply free, and the next console takes it over (and
says whose it was). The file's text names the holder, so a refused console can say who has it.
The file is never deleted: unlinking a lock file lets two consoles lock two different files.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path


class CheckpointLocked(Exception):
    """Another console holds this checkpoint; str() names it and says what to do."""


def lock_path_for(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".lock")


class CheckpointLock:
    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = checkpoint
        self.path = lock_path_for(checkpoint)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def check_free(self) -> None:
        """Raise CheckpointLocked if another console holds the lock; changes nothing."""
        self.acquire(probe=True)

    def acquire(self, probe: bool = False) -> str | None:
        """Take the lock, or raise CheckpointLocked. Returns a note when it took over the lock
        of a console that died without releasing it."""
        if self._fd is not None or (probe and not self.path.exists()):
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read(fd))
            os.close(fd)
            raise CheckpointLocked(
                f"{self.checkpoint} is in use by another console ({holder}); stop that one "
                "first (or attach to it), or choose another file with --save-to"
            ) from None
        if probe:
            os.close(fd)  # closing releases the flock
            return None
        previous = _read(fd)
        os.ftruncate(fd, 0)
        me = {"host": socket.gethostname(), "pid": os.getpid(), "since": int(time.time())}
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        self._fd = fd
        if previous:
            return f"took over the lock of {_describe(previous)}, which ended without releasing it"
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # empty: released cleanly
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (ValueError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, object]) -> str:
    if not holder:
        return "holder unknown"
    return f"hpo-console pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"
