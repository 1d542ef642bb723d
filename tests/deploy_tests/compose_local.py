"""Run docker-compose.yml's services as local processes, the way Docker would run them.

There is no Docker engine here, so this takes what the compose file declares (each service's
command, environment, volumes, ports) and what the image adds (the Dockerfile's WORKDIR, ENV,
ENTRYPOINT and CMD), resolves `${VAR:-default}` interpolation as Compose does, and maps only what
must differ on one machine:

- service host names (`console`, `minio`) become 127.0.0.1, and each service's container port a
  local port the test chooses (a free one for the console, the S3 test server's for MinIO);
  a bind on every interface (`0.0.0.0`) becomes a bind on 127.0.0.1;
- container paths (volume targets, the working folder) become folders under one temp "root", so
  services that mount the same volume at the same path see the same files, as they do in Docker;
- the image's /opt/venv/bin on PATH becomes this project's venv.

Everything else (the programs, their flags, their environment variables) is taken as written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
VENV_BIN = Path(sys.executable).parent  # stands in for the image's /opt/venv/bin
EVERY_INTERFACE = "0.0.0.0"
LOOPBACK = "127.0.0.1"


# --- the image: what the Dockerfile's final stage gives every container ---------------------


@dataclass(frozen=True)
class ImageConfig:
    workdir: str
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    user: str


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: comments dropped, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    parts: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not parts and not line):
            continue  # Docker drops comment lines, even in the middle of a continued instruction
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        keyword, _, arguments = " ".join(p for p in parts if p).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        parts = []
    return instructions


def _exec_form(arguments: str) -> list[str]:
    """ENTRYPOINT/CMD arguments; the shell form runs under /bin/sh -c, as Docker does."""
    if arguments.startswith("["):
        return list(json.loads(arguments))
    return ["/bin/sh", "-c", arguments]


def read_image_config(dockerfile: Path = DOCKERFILE) -> ImageConfig:
    """The final stage's working folder, environment, entrypoint, command and user."""
    workdir, user = "/", "root"
    env: dict[str, str] = {}
    entrypoint: list[str] = []
    cmd: list[str] = []
    for keyword, arguments in dockerfile_instructions(dockerfile.read_text()):
        if keyword == "FROM":  # a new stage starts from scratch (the base image adds no HPO_*)
            workdir, user, env, entrypoint, cmd = "/", "root", {}, [], []
        elif keyword == "WORKDIR":
            workdir = arguments
        elif keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
        elif keyword == "ENTRYPOINT":
            entrypoint = _exec_form(arguments)
        elif keyword == "CMD":
            cmd = _exec_form(arguments)
        elif keyword == "USER":
            user = arguments
    return ImageConfig(workdir, env, entrypoint, cmd, user)


# --- the compose file: interpolation as Compose does it -------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    pass


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Resolve $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and $$ in `text`."""

    def resolve(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        value, op, arg = variables.get(name), match["op"], match["arg"]
        unset_or_empty = not value
        if (op == ":-" and unset_or_empty) or (op == "-" and value is None):
            return arg
        if (op == ":?" and unset_or_empty) or (op == "?" and value is None):
            raise InterpolationError(f"{name}: {arg or 'required'}")
        return value or ""

    return _VARIABLE.sub(resolve, text)


def interpolate_tree(node: Any, variables: Mapping[str, str]) -> Any:
    """Interpolate every string value in a parsed YAML tree (mapping keys stay as written)."""
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [interpolate_tree(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, variables) for key, value in node.items()}
    return node


def load_compose(variables: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file with `variables` (the shell's environment, for Compose) substituted."""
    return interpolate_tree(yaml.safe_load(path.read_text()), variables)


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of its two forms (mapping or KEY=VALUE list)."""
    declared = service.get("environment") or {}
    if isinstance(declared, list):
        declared = dict(item.partition("=")[::2] for item in declared)
    return {name: "" if value is None else str(value) for name, value in declared.items()}


def volume_mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """{container path: volume name or host path} for a service's short-form volumes."""
    mounts = {}
    for spec in service.get("volumes") or []:
        source, target = spec.split(":")[:2]
        mounts[target] = source
    return mounts


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """{service: condition} for either form of `depends_on` (a list means service_started)."""
    declared = service.get("depends_on") or {}
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in declared.items()}


# --- running services as processes -----------------------------------------------------------


@dataclass
class LocalCompose:
    """The topology on this machine: `ports` maps {service: {container port: local port}}."""

    compose: dict[str, Any]
    image: ImageConfig
    root: Path  # the shared container filesystem: container path /keys is root/keys
    logs: Path
    ports: dict[str, dict[int, int]]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def services(self) -> dict[str, Any]:
        return self.compose["services"]

    def container_dirs(self) -> list[str]:
        """Container paths that stand for folders under `root`: volume targets, the workdir."""
        owners: dict[str, str] = {}
        for service in self.services.values():
            for target, source in volume_mounts(service).items():
                # Sharing files through one local folder is only faithful if a path always
                # holds the same volume.
                if owners.setdefault(target, source) != source:
                    raise ValueError(f"{target} mounts both {owners[target]} and {source}")
        return sorted({*owners, self.image.workdir}, key=len, reverse=True)

    def local_path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def prepare(self) -> None:
        """The folders the image and the volumes provide, and the demo search the image copies."""
        for container_dir in self.container_dirs():
            self.local_path(container_dir).mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "sample.toml", self.local_path(self.image.workdir))
        (self.root / "home").mkdir(exist_ok=True)  # the image user's home (useradd makes it)
        self.logs.mkdir(parents=True, exist_ok=True)

    def map_text(self, service: str, text: str) -> str:
        """One argument or env value, with container paths and addresses made local."""
        dirs = "|".join(re.escape(d) for d in self.container_dirs())
        text = re.sub(
            rf"(?<![\w./-])(?:{dirs})(?=/|$|[\s\"'])",
            lambda m: str(self.local_path(m.group(0))),
            text,
        )
        text = re.sub(
            r"(?<![\w.-])([A-Za-z0-9_.-]+):(\d+)",
            lambda m: self._local_address(service, m.group(1), int(m.group(2))) or m.group(0),
            text,
        )
        if EVERY_INTERFACE in text:
            raise ValueError(f"{service}: {text!r} still binds every interface")
        return text

    def _local_address(self, service: str, host: str, port: int) -> str | None:
        """host:port of a service (or this service's own bind on every interface), locally."""
        target = service if host == EVERY_INTERFACE else host
        if target not in self.services:
            return None  # not an address (e.g. a MinIO image tag), or not a service's
        local_port = self.ports.get(target, {}).get(port)
        if local_port is None:
            raise ValueError(f"{service}: no local port for {target}:{port}")
        return f"{LOOPBACK}:{local_port}"

    def command(self, service: str) -> list[str]:
        """ENTRYPOINT + (the service's command, else the image's CMD), as Docker joins them."""
        declared = self.services[service].get("command")
        if isinstance(declared, str):
            declared = shlex.split(declared)
        argv = [*self.image.entrypoint, *(declared or self.image.cmd)]
        return [self.map_text(service, str(arg)) for arg in argv]

    def environment(self, service: str) -> dict[str, str]:
        """The image's ENV overlaid with the service's `environment`, paths and hosts mapped."""
        env = {**self.image.env, **environment_of(self.services[service])}
        mapped = {name: self.map_text(service, value) for name, value in env.items()}
        mapped["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
        mapped["HOME"] = str(self.root / "home")  # the image user's home
        mapped.setdefault("LANG", "C.UTF-8")  # as the Python base image sets it
        return mapped

    def start(self, service: str, name: str) -> subprocess.Popen[bytes]:
        """One container of `service` as a process; its output goes to logs/NAME.log."""
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                self.command(service),
                cwd=self.local_path(self.image.workdir),
                env=self.environment(service),
                stdin=subprocess.DEVNULL,  # no terminal, as under `docker compose up`
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, like a container's processes
            )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self, grace_s: float = 10.0) -> None:
        """SIGTERM every process still running (as `docker compose down`), then SIGKILL."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the process and any trial it left behind
                proc.wait()
