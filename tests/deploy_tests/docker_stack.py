"""The real `docker compose` stack for the deploy tests: one project per test run, torn down always.

Used only where a Docker engine answers (CI starts one with ../shared/docker/engine.sh up). The
project name is unique per run (`-p`), so stacks of parallel runs never meet, and `down -v` in the
fixture's teardown removes its containers, network and volumes whatever the tests did.
"""

from __future__ import annotations

import os
import subprocess
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy_tests.compose_local import COMPOSE_FILE, REPO

# Only on these sandboxed machines: builds need the host's network (see ../shared/docker).
SANDBOX_FILE = REPO.parent / "shared" / "docker" / "compose.sandbox.yml"
IMAGE = "zmq-hpo:deploy-test"  # not :latest, so a user's own image is never replaced


def engine_problem(timeout_s: float = 20.0) -> str | None:
    """Why no engine can be used here (None: `docker` and `docker compose` both answer)."""
    for argv in (["docker", "info", "-f", "{{.ServerVersion}}"], ["docker", "compose", "version"]):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{' '.join(argv)}` did not answer: {exc}"
        if done.returncode != 0:
            return f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()[:300]}"
    return None


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    """Poll with a deadline; `every` is generous because each probe runs a docker command."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(every)


@dataclass
class Stack:
    """`docker compose -p PROJECT -f docker-compose.yml [-f sandbox] -f override` with `env`."""

    workdir: Path  # override file and search files (mounted read-only at /app/tests)
    console_port: int
    project: str = field(default_factory=lambda: f"hpo-test-{uuid.uuid4().hex[:10]}")
    env: dict[str, str] = field(default_factory=dict)

    def files(self) -> list[str]:
        files = ["-f", str(COMPOSE_FILE)]
        if SANDBOX_FILE.exists():
            files += ["-f", str(SANDBOX_FILE)]
        return [*files, "-f", str(self.workdir / "override.yml")]

    def write_override(self) -> None:
        """Mounts the tests' search files into the console, nothing else."""
        searches = self.workdir / "searches"
        text = f"services:\n  console:\n    volumes:\n      - {searches}:/app/tests:ro\n"
        if SANDBOX_FILE.exists():  # the sandbox file gives only `keys` the host's network
            text += "    build:\n      network: host\n"
        (self.workdir / "override.yml").write_text(text)

    def compose_argv(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.project, *self.files(), *args]

    def environment(self, **env: str) -> dict[str, str]:
        return {
            **os.environ,
            "HPO_IMAGE": IMAGE,
            "HPO_CONSOLE_PORT": f"127.0.0.1:{self.console_port}",
            **self.env,
            **env,
        }

    def compose(
        self, *args: str, timeout: float = 120, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.compose_argv(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environment(**env),
            cwd=REPO,
        )
        if check and done.returncode != 0:
            report = f"{done.stdout}\n{done.stderr}"
            raise AssertionError(f"compose {' '.join(args)} -> {done.returncode}\n{report}")
        return done

    def docker(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {done.stderr}")
        return done.stdout

    def containers(self, service: str, all_states: bool = True) -> list[str]:
        flags = ["ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}"]
        flags += ["--filter", f"label=com.docker.compose.service={service}"]
        return self.docker(*flags, *(["-a"] if all_states else [])).split()

    def state(self, container: str) -> tuple[str, int, int]:
        """(status, exit code, restart count) of one container."""
        out = self.docker(
            "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", container
        )
        status, code, restarts = out.split()
        return status, int(code), int(restarts)

    def hostname(self, container: str) -> str:
        return self.docker("inspect", "-f", "{{.Config.Hostname}}", container).strip()

    def logs(self, service: str) -> str:
        done = self.compose("logs", "--no-color", "--no-log-prefix", service, check=False)
        return done.stdout + done.stderr

    def run_image(self, *argv: str, volumes: tuple[str, ...] = (), network: bool = False) -> str:
        """A throwaway container of the image, e.g. to read a volume or ask MinIO."""
        flags = [x for v in volumes for x in ("-v", f"{self.project}_{v}")]
        if network:
            flags += ["--network", f"{self.project}_default"]
        return self.docker("run", "--rm", *flags, IMAGE, *argv, timeout=90)

    def checkpoint(self, name: str) -> dict:
        text = self.run_image("cat", f"/app/runs/{name}.toml", volumes=("runs:/app/runs:ro",))
        return tomllib.loads(text)

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.project}"
        return {
            "containers": self.docker("ps", "-aq", "--filter", label).split(),
            "volumes": self.docker("volume", "ls", "-q", "--filter", label).split(),
            "networks": self.docker("network", "ls", "-q", "--filter", label).split(),
        }
