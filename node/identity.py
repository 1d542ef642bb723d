"""A node's default name: stable across restarts of its container, unique among processes on a host.

The console knows nodes by the id they send. Outside a container the default is ``HOST-PID``, so
several nodes on one machine get distinct names. Inside a container the PID says nothing (every
restart may get another one) while the hostname is the container's own and survives `docker
restart` and `restart: unless-stopped`: a node that is its container's main process uses the
hostname alone, so a restarted container comes back under its old name and the console hands its
old trials on at once instead of waiting for the old name to fall silent.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

# Files container engines create in every container (Docker / Podman).
CONTAINER_MARKERS = (Path("/.dockerenv"), Path("/run/.containerenv"))


def is_container_main_process(pid: int, ppid: int, markers: tuple[Path, ...]) -> bool:
    """PID 1 (`docker run` without --init), or the only child of the init that `--init` / compose's
    `init: true` runs as PID 1; and a container engine's marker file is present."""
    return (pid == 1 or ppid == 1) and any(marker.exists() for marker in markers)


def default_node_id(
    hostname: str | None = None,
    pid: int | None = None,
    ppid: int | None = None,
    markers: tuple[Path, ...] = CONTAINER_MARKERS,
) -> str:
    """``HOST`` for a container's main process, else ``HOST-PID``."""
    host = hostname or socket.gethostname()
    pid = os.getpid() if pid is None else pid
    ppid = os.getppid() if ppid is None else ppid
    return host if is_container_main_process(pid, ppid, markers) else f"{host}-{pid}"
