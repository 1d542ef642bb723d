"""Trial slots: one long-lived child process per slot runs trials (node.trial) on request."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from node import estimators
from node.trial import run_trial

Event = tuple[str, dict[str, Any]]
IDLE_EXIT_S = 1.0  # an idle child exits on EOF; one still there after this is killed
REAP_TIMEOUT_S = 5.0  # waiting for a child we killed (or that hung up) to be reaped
QUICK_DEATH_S = 1.0  # an idle child dying this soon after starting is suspicious...
MAX_QUICK_DEATHS = 3  # ...and this many in a row means restarting will not help
THREAD_LIMIT_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Signals a terminal or a service manager sends to the node's whole process group: a slot child
# ignores them and leaves the stop to the supervisor, which hands its lease back (a child killed
# by one first would report its trial as crashed, and the trial would be charged for it).
GROUP_STOPS = (signal.SIGTERM, signal.SIGINT)
# Imported once by the fork server, so each (re)started child begins with them loaded.
PRELOAD_MODULES = [
    "__main__",  # else every child re-runs the parent's main script
    "numpy",
    "threadpoolctl",
    "sklearn.base",
    "sklearn.datasets",
    "sklearn.metrics",
    "sklearn.model_selection",
    *estimators.estimator_modules(),
    "node.datasets",
    "node.trial",
    __name__,
]


class SlotProcess:
    """One child process that runs trials one at a time; a non-blocking handle for the parent.

    Register the object itself (not ``fileno()``) with ``zmq.Poller``: pyzmq calls ``fileno()``
    on every poll, and the descriptor changes whenever the child is restarted.
    """

    def __init__(self, slot_index: int) -> None:
        self.slot_index = slot_index
        self.busy = False
        self.task: dict[str, Any] | None = None
        self.started_at = 0.0
        self._fold_scores: list[float] = []
        self._fold_numbers: list[int] = []
        self._closed = False
        self._quick_deaths = 0
        self._spawned_at = 0.0
        self._pid: int | None = None
        self._process: Any = None  # multiprocessing's forkserver Process
        self._conn: Connection | None = None
        self._spawn()

    @property
    def pid(self) -> int | None:
        """Process id of the current child (of the last one, once closed)."""
        return self._pid

    def fileno(self) -> int:
        """The parent end of the pipe: readable when events (or the child's death) are pending."""
        if self._conn is None:
            raise ValueError(f"slot {self.slot_index} is closed")
        return self._conn.fileno()

    def start(self, task: dict[str, Any]) -> None:
        """Hand `task` to the idle child; its events follow through poll_events()."""
        if self._conn is None:
            raise RuntimeError(f"slot {self.slot_index} is closed")
        if self.busy:
            raise RuntimeError(f"slot {self.slot_index} is busy with trial {self._trial_id()}")
        try:
            self._conn.send(task)
        except OSError:  # the idle child died and its EOF has not been polled yet
            self._restart()
            self._conn.send(task)
        self.busy = True
        self.task = task
        self.started_at = time.monotonic()
        self._fold_scores = []
        self._fold_numbers = []

    def poll_events(self) -> list[Event]:
        """Every event available now, without blocking: progress, then the result."""
        events: list[Event] = []
        while self._conn is not None:
            try:
                if not self._conn.poll():
                    if self._process.is_alive():
                        break
                    raise EOFError  # gone, but the pipe did not say so (fd held elsewhere)
                kind, body = self._conn.recv()
            except (EOFError, OSError):
                crash = self._child_died()
                if crash is not None:
                    events.append(("result", crash))
                break
            if not self.busy:
                continue  # nothing should arrive while idle; ignore rather than misattribute
            if kind == "progress":
                self._fold_scores.append(body["score"])
                self._fold_numbers.append(body["fold"])
                events.append(("progress", body))
            elif kind == "result":
                self._quick_deaths = 0
                self._clear_trial()
                events.append(("result", body))
        return events

    def kill(self, status: str, reason: str, *, respawn: bool = True) -> dict[str, Any]:
        """Hard-stop the running trial (deadline, CANCEL); its result body with `status`.

        The requested status always wins, even if the child finished a moment ago and its result
        is still unread: call poll_events() first to honour such a result. `respawn=False` when
        the node is stopping: no new child is started (the slot is then closed).
        """
        if not self.busy:
            raise RuntimeError(f"slot {self.slot_index} has no running trial to kill")
        self._process.kill()
        self._process.join(REAP_TIMEOUT_S)
        self._drain_progress()
        body = self._end_trial(status, reason)
        if respawn:
            self._restart()
        else:
            self.close()
        return body

    def close(self) -> None:
        """Stop the child (SIGKILL if busy or slow to leave); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        mid_trial = self.busy
        self._clear_trial()
        self._stop_child(mid_trial)

    def __enter__(self) -> SlotProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD_MODULES)  # no effect once the server runs
        parent_conn, child_conn = context.Pipe(duplex=True)
        process = context.Process(
            target=_child_main,
            args=(child_conn,),
            name=f"hpo-slot-{self.slot_index}",
            # Daemonic: terminated at parent exit, and joblib inside it falls back to n_jobs=1.
            daemon=True,
        )
        # A fork server (re)started here inherits our environment: BLAS and OpenMP read the
        # limits when numpy is first imported there, which is before any child exists.
        with _thread_limited_environment():
            process.start()
        # Only the child may hold its end, so that its death shows as EOF on ours.
        child_conn.close()
        self._process, self._conn, self._pid = process, parent_conn, process.pid
        self._spawned_at = time.monotonic()

    def _stop_child(self, mid_trial: bool = False) -> None:
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()  # an idle child sees EOF and exits by itself
            self._conn = None
        if process is None:
            return
        if process.exitcode is None and not mid_trial:
            process.join(IDLE_EXIT_S)
        if process.exitcode is None:
            process.kill()  # SIGKILL: children ignore SIGTERM (GROUP_STOPS)
            process.join(REAP_TIMEOUT_S)
        if process.exitcode is not None:
            process.close()  # frees its sentinel fds; only allowed once it has exited

    def _restart(self) -> None:
        self._stop_child()
        if not self._closed:
            self._spawn()

    def _child_died(self) -> dict[str, Any] | None:
        """Handle EOF from the child: a crash body if it was busy; restart it either way."""
        self._process.join(REAP_TIMEOUT_S)  # EOF means it is exiting; wait for its status
        reason = _describe_exit(self._process.exitcode)
        body: dict[str, Any] | None = None
        if self.busy:
            self._quick_deaths = 0
            body = self._end_trial("crash", f"trial process died ({reason})")
        else:
            lived = time.monotonic() - self._spawned_at
            self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_DEATH_S else 0
            if self._quick_deaths >= MAX_QUICK_DEATHS:
                self.close()
                raise RuntimeError(
                    f"slot {self.slot_index}: its child process keeps dying right after "
                    f"starting ({reason}); giving up"
                )
        self._restart()
        return body

    def _drain_progress(self) -> None:
        """Record folds the killed child reported before it died; anything else is dropped."""
        with contextlib.suppress(Exception):  # a message cut short by the kill is expected
            while self._conn is not None and self._conn.poll():
                kind, body = self._conn.recv()
                if kind == "progress":
                    self._fold_scores.append(body["score"])
                    self._fold_numbers.append(body["fold"])

    def _end_trial(self, status: str, error: str) -> dict[str, Any]:
        body = {
            "status": status,
            "mean": None,
            "std": None,
            "fold_scores": list(self._fold_scores),
            "folds": list(self._fold_numbers),
            "fit_time_s": time.monotonic() - self.started_at,
            "error": error,
        }
        self._clear_trial()
        return body

    def _clear_trial(self) -> None:
        self.busy = False
        self.task = None
        self._fold_scores = []
        self._fold_numbers = []

    def _trial_id(self) -> Any:
        return (self.task or {}).get("trial_id")


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@contextlib.contextmanager
def _thread_limited_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in THREAD_LIMIT_VARS}
    os.environ.update(dict.fromkeys(THREAD_LIMIT_VARS, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _child_main(conn: Connection) -> None:
    """The child's loop: receive a task, run it, report progress and the result; repeat."""
    for signum in GROUP_STOPS:  # Ctrl-C or a group SIGTERM: the supervisor's business
        signal.signal(signum, signal.SIG_IGN)
    os.environ.update(dict.fromkeys(THREAD_LIMIT_VARS, "1"))  # for anything started later
    from threadpoolctl import threadpool_limits

    # Slots are the unit of parallelism: one core each, or nodes oversubscribe the machine.
    threadpool_limits(1)
    _exit_with_parent()

    def report_fold(fold: int, folds: int, score: float, scores: dict[str, float]) -> None:
        body = {"fold": fold, "folds": folds, "score": score, "scores": scores}
        conn.send(("progress", body))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or died
        if task is None:
            return
        try:
            conn.send(("result", run_trial(task, report_fold)))
        except OSError:
            return  # the parent went away mid-trial


def _exit_with_parent() -> None:
    """Exit as soon as the parent dies, even in the middle of a long fit."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        wait([parent.sentinel])  # readable (EOF) once the parent process is gone
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
