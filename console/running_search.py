"""One search being run: its scheduler task and the local nodes the console started for it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from console.link.keyring import InsecureBind, open_link
from console.local_nodes import LocalNodes, connect_address, default_slots
from console.scheduler import events as ev
from console.scheduler.checkpoint_lock import CheckpointLocked
from console.scheduler.core import Scheduler
from console.searchfile.session import OpenedSearch
from console.searchfile.spec import ClusterSpec
from node.curve import KeyFileError
from node.transport import BindError


@dataclass(frozen=True)
class LaunchOptions:
    """Command-line overrides of the search file's [cluster] table (None: use the file's)."""

    local_nodes: int | None = None
    local_slots: int | None = None
    bind: str | None = None
    keys_dir: str | None = None  # CURVE keys (overrides [cluster] keys_dir)
    insecure: bool = False  # allow listening beyond loopback without keys
    stall_timeout_s: float | None = None  # overrides [cluster] stall_timeout_s

    def link(self, cluster: ClusterSpec) -> tuple[str, str | None]:
        """Where to listen and the key folder: these options, else the search file's."""
        return self.bind or cluster.bind, self.keys_dir or cluster.keys_dir

    def stall_timeout(self, cluster: ClusterSpec) -> float:
        """Seconds a headless search waits when no node can take its work (0: forever)."""
        return cluster.stall_timeout_s if self.stall_timeout_s is None else self.stall_timeout_s


# What stops a search from starting, as opposed to a crash: the front ends show these as they are.
LAUNCH_ERRORS = (BindError, KeyFileError, InsecureBind, CheckpointLocked)


class RunningSearch:
    """Start with `start()` (inside the event loop), finish with `shutdown()`."""

    def __init__(
        self,
        opened: OpenedSearch,
        options: LaunchOptions,
        on_event: Callable[[ev.Event], None],
        *,
        exit_when_done: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.opened = opened
        self.options = options
        cluster = opened.spec.cluster
        count = cluster.local_nodes if options.local_nodes is None else options.local_nodes
        self.local_count = count
        self.local_slots = options.local_slots or cluster.local_slots or default_slots(count)
        extra = {"clock": clock} if clock is not None else {}
        self.scheduler = Scheduler(
            opened.spec,
            opened.checkpoint,
            state=opened.state,
            bind=options.bind,
            on_event=on_event,
            exit_when_done=exit_when_done,
            **extra,
        )
        ledger = self.scheduler.ledger
        # Reopened with nothing left to run: no node to start, no auto export to repeat.
        self.finished_at_open = (
            opened.state is not None
            and len(ledger) >= self.scheduler.planned
            and ledger.unfinished() == 0
        )
        self.local: LocalNodes | None = None
        self.local_keys: Path | None = None  # the local nodes' key bundle, removed at shutdown
        self.task: asyncio.Task[str] | None = None
        self.warning: str | None = None  # for the front end to show, e.g. --insecure's

    async def start(self) -> None:
        """Bind and start the local nodes; raises one of LAUNCH_ERRORS if it cannot start."""
        self._secure_link()
        self.task = asyncio.create_task(self.scheduler.run())
        ready = asyncio.ensure_future(self.scheduler.ready.wait())
        await asyncio.wait({ready, self.task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self.task.done():
            self.task.result()  # raises, e.g. BindError
        checkpoint = self.opened.checkpoint
        if self.scheduler.keys is not None and self.local_count:
            self.local_keys = self.scheduler.keys.local_bundle()
        self.local = LocalNodes(
            self.scheduler.endpoint,
            self.local_slots,
            self.opened.spec.cluster.heartbeat_s,
            checkpoint.parent / f"{checkpoint.stem}.logs",
            keys_dir=self.local_keys,
        )
        if self.local_count and not self.finished_at_open:
            self.local.start(self.local_count)

    @property
    def serving(self) -> bool:
        """The scheduler's loop is running (it has not returned, stopped or failed)."""
        return self.task is not None and not self.task.done()

    async def wait(self) -> str:
        """Until the scheduler returns (stopped, or finished when exit_when_done)."""
        assert self.task is not None
        return await self.task

    async def shutdown(self) -> None:
        """Stop the scheduler (it checkpoints) and the local nodes. Safe to call twice."""
        self.scheduler.stop()
        if self.task is not None and not self.task.done():
            await asyncio.wait({self.task})
        if self.local is not None:
            await asyncio.to_thread(self.local.stop_all)
        if self.local_keys is not None:
            shutil.rmtree(self.local_keys, ignore_errors=True)
            self.local_keys = None

    def started_lines(self) -> list[str]:
        """What both front ends say once the search is up: what runs, where, and its nodes."""
        scheduler = self.scheduler
        ledger = scheduler.ledger
        finished = ledger.done + ledger.failed + ledger.pruned
        resumed = f" ({finished} already finished, resuming)" if finished else ""
        lines = [
            f"search {scheduler.spec.name!r}: {scheduler.planned} trials{resumed}, listening on "
            f"{scheduler.listening_on}, checkpoint {self.opened.checkpoint}"
        ]
        if self.finished_at_open:
            lines.append(
                "this search already finished: nothing to run, so no local node was started "
                "(f retries failed trials; extend it by raising max_trials in its search file)"
            )
        elif self.local_count and self.local is not None:
            lines.append(
                f"started {self.local_count} local node(s) with {self.local_slots} slot(s) "
                f"each; logs in {self.local.log_dir}"
            )
        return lines

    def no_node_hint(self) -> str | None:
        """How to get a node when the console starts none (local_nodes = 0); None if it does."""
        if self.local_count or self.finished_at_open:
            return None
        return (
            "no local nodes (local_nodes = 0): start one with n, or on any machine: "
            f"hpo-node --connect {connect_address(self.scheduler.endpoint)}"
        )

    def _secure_link(self) -> None:
        """Load the CURVE keys and check the address against them (the scheduler uses both)."""
        bind, keys_dir = self.options.link(self.opened.spec.cluster)
        self.scheduler.keys, self.warning = open_link(bind, keys_dir, self.options.insecure)
