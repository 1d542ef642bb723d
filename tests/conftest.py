"""Shared fixtures: search files written on the fly, real node processes, a scheduler harness,
and one real S3 server for the session."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.link.keyring import ConsoleKeys
from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.searchfile.toml_io import load_search
from console.store.devstore import LocalStore

REPO = Path(__file__).resolve().parent.parent
HEARTBEAT_S = 0.2  # tests run with fast heartbeats so liveness decisions take ~0.6 s


def write_search(
    folder: Path,
    *,
    name: str = "t",
    estimator: str = "sleep_classifier",
    space: str = 'seconds = { type = "choice", values = [0.0] }',
    fixed: str = "{}",
    strategy: str = "grid",
    max_trials: int | None = None,
    extra_search: str = "",
    dataset: str = "sklearn:iris",
    cv: int = 3,
    local_nodes: int = 0,
) -> Path:
    """A search file for one test; `space` is the body of the [space] table."""
    budget = f"max_trials = {max_trials}\n" if max_trials is not None else ""
    text = (
        f'[search]\nname = "{name}"\nstrategy = "{strategy}"\n{budget}seed = 3\n'
        f'metric = "accuracy"\ncv = {cv}\n{extra_search}\n'
        f'[dataset]\nsource = "{dataset}"\n\n'
        f'[model]\nestimator = "{estimator}"\nfixed = {fixed}\n\n'
        f"[space]\n{space}\n\n"
        f'[cluster]\nbind = "tcp://127.0.0.1:0"\nlocal_nodes = {local_nodes}\n'
        f"heartbeat_s = {HEARTBEAT_S}\n"
    )
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


class NodeProcs:
    """Real `python -m node` processes, killed at the end of the test whatever happened."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        endpoint: str,
        node_id: str,
        slots: int = 1,
        prefetch: int = 0,
        keys: Path | None = None,
        cwd: Path | None = None,
        own_group: bool = False,
    ) -> None:
        """`keys`: a CURVE node bundle (hpo-console keys add-node); None: plaintext. `cwd`: the
        node's working folder (relative file: datasets resolve there); default the repo.
        `own_group`: in a process group of its own, as a shell or a service manager starts it
        (`signal_group` then signals it and every process it started)."""
        log = open(self.log_dir / f"{node_id}.log", "ab")  # noqa: SIM115
        key_args = ["--keys", str(keys)] if keys is not None else []
        self.procs[node_id] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node",
                "--connect",
                endpoint,
                "--node-id",
                node_id,
                "--slots",
                str(slots),
                "--prefetch",
                str(prefetch),
                "--heartbeat",
                str(HEARTBEAT_S),
                *key_args,
            ],
            stdout=log,
            stderr=log,
            cwd=cwd or REPO,
            # From another folder the node still imports this checkout's packages.
            env={**os.environ, "PYTHONPATH": str(REPO)} if cwd else None,
            start_new_session=own_group,
        )
        log.close()

    def signal(self, node_id: str, signum: int) -> None:
        os.kill(self.procs[node_id].pid, signum)

    def signal_group(self, node_id: str, signum: int) -> None:
        os.killpg(self.procs[node_id].pid, signum)  # the group a node with own_group leads

    def wait(self, node_id: str, timeout: float = 10.0) -> int:
        return self.procs[node_id].wait(timeout=timeout)

    def log(self, node_id: str) -> str:
        return (self.log_dir / f"{node_id}.log").read_text(errors="replace")

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)  # a stopped process cannot die of SIGTERM
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[NodeProcs]:
    procs = NodeProcs(tmp_path)
    yield procs
    procs.close()


class Recorder:
    """Collects every scheduler event, so tests can assert on the whole story."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def of(self, kind: type[ev.Event]) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def scored_counts(self) -> Counter[int]:
        return Counter(e.trial_id for e in self.of(ev.TrialScored))


def make_scheduler(
    search_file: Path,
    checkpoint: Path,
    recorder: Recorder,
    exit_when_done: bool = True,
    bind: str | None = None,
    keys: ConsoleKeys | None = None,
) -> Scheduler:
    """A scheduler for `search_file`, resuming `checkpoint` instead if that exists already."""
    loaded = load_search(checkpoint if checkpoint.exists() else search_file)
    return Scheduler(
        loaded.spec,
        checkpoint,
        state=loaded.state,
        on_event=recorder,
        exit_when_done=exit_when_done,
        bind=bind,
        keys=keys,
    )


async def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, task: asyncio.Task | None = None
) -> None:
    """Poll `predicate` with a deadline (never a bare sleep); fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if task is not None and task.done():
            task.result()  # surfaces the scheduler's exception, if any
            raise AssertionError(f"scheduler ended before: {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        await asyncio.sleep(0.02)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Synchronous twin of wait_for, for tests that drive processes only."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(0.05)


async def start_search(
    search_file: Path,
    checkpoint: Path,
    recorder: Recorder,
    nodes: NodeProcs,
    node_ids: tuple[str, ...] = ("n1",),
    slots: int = 1,
    exit_when_done: bool = True,
    paused: bool = False,
) -> tuple[Scheduler, asyncio.Task[str]]:
    """A scheduler running in this event loop, bound, with real nodes started against it.

    `paused`: it starts paused (nothing dispatched until `resume()`).
    """
    scheduler = make_scheduler(search_file, checkpoint, recorder, exit_when_done)
    if paused:
        scheduler.state = "paused"
    task = asyncio.create_task(scheduler.run())
    await wait_for(scheduler.ready.is_set, 10, "scheduler bound", task)
    for node_id in node_ids:
        nodes.start(scheduler.endpoint, node_id, slots=slots)
    return scheduler, task


def run_to_end(
    search_file: Path,
    checkpoint: Path,
    recorder: Recorder,
    nodes: NodeProcs,
    node_ids: tuple[str, ...] = ("n1",),
    slots: int = 1,
    timeout: float = 60,
) -> str:
    """Run a whole search with real nodes; returns the scheduler's final state."""

    async def scenario() -> str:
        _, task = await start_search(search_file, checkpoint, recorder, nodes, node_ids, slots)
        return await asyncio.wait_for(task, timeout)

    return asyncio.run(scenario())


@pytest.fixture(scope="session")
def s3_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStore]:
    """One real S3 server (SeaweedFS `weed mini` on loopback) for the whole test session."""
    read_only = ("hpo-reader", "hpo-reader-secret")  # for the missing-rights test
    store = LocalStore(tmp_path_factory.mktemp("s3store"), read_only=read_only)
    store.start(timeout=30)  # polls a real S3 request until it answers, with this deadline
    yield store
    store.stop()


@pytest.fixture
def store_env(s3_store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """MINIO_* for the session's server and a fresh dataset cache, in this process's env."""
    for name, value in s3_store.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HPO_CACHE_DIR", str(tmp_path / "cache"))
    return s3_store


@pytest.fixture
def bucket() -> str:
    """A bucket name no other test uses (the export creates it)."""
    return f"t-{uuid.uuid4().hex[:12]}"
