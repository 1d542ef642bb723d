"""The scheduler shell: SearchCore's rules over one ZeroMQ ROUTER socket, in asyncio.

Everything the search decides lives in `SearchCore` (search_core.py, no I/O). This shell owns the
socket, the clock, the journal and checkpoint files and the checkpoint's lock; it feeds the core
what arrives and carries out what the core returns, always in this order: journal (flushed to the
OS), then send, then tell the front end. Front ends drive it with plain methods and hear from it
through `on_event`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import zmq
import zmq.asyncio

from console.link.gatekeeper import Gatekeeper, RefusalLog
from console.link.keyring import ConsoleKeys, is_loopback
from console.scheduler import events as ev
from console.scheduler.checkpoint import Checkpointer, restore_ledger
from console.scheduler.checkpoint_lock import CheckpointLock
from console.scheduler.ledger import Ledger
from console.scheduler.nodes import NodeBook
from console.scheduler.search_clock import SearchClock, restored_best_found
from console.scheduler.search_core import Output, Peer, SearchCore
from console.scheduler.snapshot import Snapshot, take_snapshot
from console.scheduler.states import SearchState
from console.search.base import Strategy
from console.searchfile.toml_io import SavedState, SearchSpec
from node import package_version
from node import protocol as p
from node.transport import make_router, routed

log = logging.getLogger("hpo.scheduler")

MAX_MESSAGES_PER_WAKE = 1000  # keep timers honest under a flood
# What a node must match for its scores to compare with the others' (as nodes report them).
CONSOLE_VERSIONS = {"sklearn": metadata.version("scikit-learn"), "zmq_hpo": package_version()}


class Scheduler:
    """Runs one search. Create it anywhere; `run()` must be awaited inside the event loop."""

    def __init__(
        self,
        spec: SearchSpec,
        checkpoint_path: Path,
        *,
        state: SavedState | None = None,
        bind: str | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        exit_when_done: bool = True,
        clock: Callable[[], float] = time.monotonic,
        keys: ConsoleKeys | None = None,
    ) -> None:
        self.spec = spec
        self.bind = bind or spec.cluster.bind
        self.keys = keys  # None: plaintext (the front end allows that on loopback only)
        self.on_event = on_event or (lambda _event: None)
        self.exit_when_done = exit_when_done
        self.clock = clock
        ledger, strategy, self.restore_warnings = restore_ledger(spec, state, checkpoint_path)
        paused = state is not None and state.status == SearchState.PAUSED
        self.core = SearchCore(
            spec,
            ledger,
            strategy,
            state=SearchState.PAUSED if paused else SearchState.RUNNING,
            console_versions=CONSOLE_VERSIONS,
        )
        finished = state is not None and state.status == SearchState.FINISHED
        self.search_clock = SearchClock(clock, state.elapsed_s if state else 0.0, not finished)
        self.best_found = restored_best_found(state, ledger.best)  # (trial id, search time)
        timing = lambda: (self.elapsed(), self.best_found)  # noqa: E731 (saved with the state)
        self.checkpointer = Checkpointer(spec, checkpoint_path, ledger, timing)
        self.lock = CheckpointLock(checkpoint_path)
        self.endpoint = ""  # the address actually bound (port 0 picks a free one)
        self.ready = asyncio.Event()
        self.refusals = RefusalLog(self._report_refusal, clock)
        self._stop_requested = False
        self._sock: zmq.Socket | None = None
        self._background_save: asyncio.Future[None] | None = None

    # -- what front ends read -------------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        return self.core.ledger

    @property
    def nodes(self) -> NodeBook:
        return self.core.nodes

    @property
    def strategy(self) -> Strategy:
        return self.core.strategy

    @property
    def planned(self) -> int:
        return self.core.planned

    @property
    def state(self) -> SearchState:
        return self.core.state

    @state.setter
    def state(self, value: str) -> None:  # before run(): e.g. start paused
        self.core.state = SearchState(value)

    @property
    def search_hash(self) -> str:
        return self.core.search_hash

    @property
    def dropped(self) -> int:
        return self.core.drops.total

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    def snapshot(self) -> Snapshot:
        """A frozen picture of the search for front ends."""
        return take_snapshot(self)

    def elapsed(self, at: float | None = None) -> float:
        """Search time at clock time `at` (default now), carried across resumes."""
        return self.search_clock.elapsed(at)

    # -- controls (call from the event loop's thread) -----------------------------------------

    def pause(self) -> None:
        """Dispatch nothing more; running trials finish and are recorded. Checkpoints at once."""
        self._apply(self.core.pause(self.clock()))

    def resume(self) -> None:
        """Dispatch again after pause() (or go on with a finished search that has work again)."""
        self._apply(self.core.resume(self.clock()))

    def stop(self) -> None:
        """Cancel running trials (saved back as pending), checkpoint, and return from run()."""
        self._stop_requested = True

    def drain(self, node_id: str, draining: bool = True) -> bool:
        """Let a node finish its trials but give it no more; draining=False undoes it and also
        releases a quarantined node. Returns False for an unknown node."""
        out = self.core.drain(node_id, draining, self.clock())
        if out is None:
            return False
        self._apply(out)
        return True

    def retry_failed(self) -> int:
        """Failed trials go back to the queue with a fresh retry budget; returns how many."""
        count, out = self.core.retry_failed(self.clock())
        self._apply(out)
        return count

    def save(self, path: Path | None = None) -> Path:
        """Checkpoint now; with `path`, also checkpoint there from now on ("save as").

        Raises OSError if the new file cannot be written, or CheckpointLocked if another
        console holds it (the old one stays the checkpoint).
        """
        self.checkpointer.flush_journal()
        self._save_checkpoint()
        if path is not None and path != self.checkpointer.path:
            self.lock = self.checkpointer.save_as(path, self.state, self.lock)
            self._emit(
                ev.Checkpointed(at=self.clock(), path=str(path), trials_done=self.ledger.done)
            )
        return self.checkpointer.path

    # -- main loop -----------------------------------------------------------------------------

    async def run(self) -> str:
        """Serve until finished (if exit_when_done) or stopped; returns the final state.

        Raises CheckpointLocked (another console has this checkpoint) or BindError first.
        """
        try:
            return await self._serve()
        finally:
            self.lock.release()

    async def _serve(self) -> str:
        gatekeeper: Gatekeeper | None = None
        if self.keys is None:
            ctx = zmq.asyncio.Context.instance()
            poller_sock = make_router(ctx, self.bind)
        else:  # a context of its own: its ZAP handler address must be ours alone
            ctx = zmq.asyncio.Context()
            gatekeeper = Gatekeeper(ctx, self.keys, self.refusals)
            gatekeeper.start()  # before the bind: no moment without a gatekeeper
            try:
                poller_sock = make_router(ctx, self.bind, gatekeeper.router_options())
            except BaseException:
                await gatekeeper.close()
                ctx.destroy(linger=0)
                raise
            gatekeeper.watch(poller_sock)
        try:  # after the bind: a console that cannot listen leaves no file behind
            took_over = self.lock.acquire()
        except BaseException:
            poller_sock.close(linger=0)
            if gatekeeper is not None:
                await gatekeeper.close()
                ctx.destroy(linger=0)
            raise
        # The asyncio socket is only awaited for readiness; all sends and receives go through a
        # plain (synchronous, non-blocking) shadow of the same socket, on this same thread, which
        # avoids a Future per message on the hot path.
        self._sock = zmq.Socket.shadow(poller_sock.underlying)
        self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.ready.set()
        now = self.clock()
        self._emit(ev.SearchStateChanged(at=now, state=str(self.state)))
        for warning in ([took_over] if took_over else []) + self.restore_warnings:
            self._apply(self.core.warn(warning, now))
        try:
            while not self._stop_requested:
                out = Output()
                if await poller_sock.poll(timeout=self._poll_ms()):
                    self._drain_socket(out)
                self._apply(out.extend(self.core.tick(self.clock())))
                self.search_clock.follow(self.state, self.ledger.running, self.clock())
                if self.checkpointer.due(self.clock()) and not self.checkpointer.saving:
                    self._background_save = asyncio.ensure_future(self._save_in_background())
                if self.state == SearchState.FINISHED and self.exit_when_done:
                    break
            if self._stop_requested:
                self._apply(self.core.stop(self.clock()))
        except Exception as exc:  # never lose the ledger to a bug: checkpoint, then re-raise
            log.exception("scheduler failed")
            self._emit(ev.SchedulerError(at=self.clock(), message=f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            self._apply(self.core.close(self.clock()))
            self.search_clock.set_counting(False, self.clock())  # not searching from here
            if self._background_save is not None:
                await asyncio.wait({self._background_save})
            self._save_checkpoint()
            self._sock = None
            poller_sock.close(linger=200)  # lets the last ACKs and DONEs leave
            if gatekeeper is not None:
                await gatekeeper.close()
                ctx.destroy(linger=0)
        return self.state

    def _poll_ms(self) -> int:
        return int(min(100.0, self.core.heartbeat_s * 250))

    def _drain_socket(self, out: Output) -> None:
        assert self._sock is not None
        for _ in range(MAX_MESSAGES_PER_WAKE):
            try:
                # Frames (not bytes) so a bad message can be traced to its sender's address.
                frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            out.extend(self._on_frames(frames))

    def absorb(self, batch: list[list[zmq.Frame]]) -> None:
        """Handle a batch of received messages as one wake of the loop does (benchmarks feed
        bursts through here): every message, then one journal flush, then the sends."""
        out = Output()
        for frames in batch:
            out.extend(self._on_frames(frames))
        self._apply(out)

    def _on_frames(self, frames: list[zmq.Frame]) -> Output:
        now = self.clock()
        peer = Peer(
            frames[0].bytes,
            _frame_property(frames[0], "Peer-Address") or "unknown address",
            _frame_property(frames[0], "User-Id"),
        )
        try:
            if len(frames) < 2:
                raise p.ProtocolError("message without a routing id")
            msg = p.decode([frame.bytes for frame in frames[1:]])
            if not isinstance(msg, p.NODE_TO_CONSOLE):
                raise p.ProtocolError(f"{msg.KIND} is not a node-to-console message")
        except p.ProtocolError as exc:
            log.debug("dropped a message from %s: %s", peer.address, exc)
            return self.core.on_bad_message(peer, str(exc), now)
        return self.core.on_message(peer, msg, now)

    def _apply(self, out: Output, depth: int = 0) -> None:
        """Carry out the core's decisions: journal, then send, then report."""
        for record in out.journal:
            self.checkpointer.journal(record)
        if out.journal:
            self.checkpointer.flush_journal()  # durable before any ACK or TASK leaves
        failed: set[bytes] = set()
        for routing_id, msg in out.sends:
            if routing_id not in failed and not self._send(routing_id, msg):
                failed.add(routing_id)
        for event in out.events:
            self._emit(event)
        if out.checkpoint:
            self._save_checkpoint()
        if failed and depth < 3:  # a send failed: the core requeues that node's trials
            after = Output()
            for routing_id in failed:
                after.extend(self.core.on_send_failed(routing_id, self.clock()))
            self._apply(after, depth + 1)

    def _send(self, routing_id: bytes, msg: p.Message) -> bool:
        """Send to one node; False if it is gone (ROUTER_MANDATORY) or its queue is full."""
        if self._sock is None:
            return True  # not serving: nobody is connected to hear it
        try:
            self._sock.send_multipart(routed(routing_id, msg), zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:
            log.warning("send %s to %s failed: %s", msg.KIND, routing_id.hex()[:16], exc)
            return False

    async def _save_in_background(self) -> None:
        try:
            await self.checkpointer.save_in_background(self.state)
        except OSError as exc:
            self._report_save(exc)
        else:
            self._report_save(None)

    def _save_checkpoint(self) -> None:
        try:
            self.checkpointer.save(self.state)
        except OSError as exc:
            self._report_save(exc)
        else:
            self._report_save(None)

    def _report_save(self, failure: OSError | None) -> None:
        """A full disk must not kill the search: say so and go on."""
        if failure is not None:
            log.error("checkpoint failed: %s", failure)
            self._emit(ev.SchedulerError(at=self.clock(), message=f"checkpoint failed: {failure}"))
            return
        done = self.ledger.done
        self._emit(
            ev.Checkpointed(at=self.clock(), path=str(self.checkpointer.path), trials_done=done)
        )

    # -- the link ------------------------------------------------------------------------------

    @property
    def link_security(self) -> str:
        """ "CURVE", "INSECURE" (plaintext beyond loopback, allowed by --insecure) or ""."""
        if self.keys is not None:
            return "CURVE"
        return "" if is_loopback(self.bind) else "INSECURE"

    @property
    def listening_on(self) -> str:
        """The address and who can use it, for the front ends' first line."""
        who = {
            "CURVE": "CURVE: allow-listed node keys only",
            "INSECURE": "plaintext: INSECURE, any host that reaches it may join",
        }.get(self.link_security, "plaintext, this machine only")
        return f"{self.endpoint} ({who})"

    def _report_refusal(self, peer: str, reason: str, repeats: int) -> None:
        self._emit(ev.ConnectionRefused(at=self.clock(), peer=peer, reason=reason, repeats=repeats))

    def _emit(self, event: ev.Event) -> None:
        if isinstance(event, ev.SearchStateChanged) and event.state != SearchState.RUNNING:
            # Stops the clock at once; it starts at the loop's next round (see SearchClock).
            self.search_clock.follow(event.state, self.ledger.running, event.at)
        elif isinstance(event, ev.TrialScored) and event.is_best:
            self.best_found = (event.trial_id, self.elapsed(event.at))
        if isinstance(event, ev.MessageDropped):
            log.warning(
                "dropped a message from peer %s: %s (%d this report, %d in all)",
                event.peer,
                event.reason,
                event.repeats,
                event.total_dropped,
            )
        try:
            self.on_event(event)
        except Exception:  # a broken front end must not stop the search
            log.exception("event handler failed for %s", type(event).__name__)


def _frame_property(frame: zmq.Frame, name: str) -> str:
    """A connection property of a message's sender ("User-Id": its key's allow-list name)."""
    try:
        return frame.get(name)
    except (AttributeError, zmq.ZMQError):
        return ""
