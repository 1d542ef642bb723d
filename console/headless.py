"""Headless front end: run a search to the end with live progress on a terminal (or log lines)."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from console.local_nodes import connect_address
from console.running_search import LAUNCH_ERRORS, LaunchOptions, RunningSearch
from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.scheduler.ledger import FAILED, Ledger
from console.scheduler.snapshot import Snapshot
from console.searchfile.session import OpenedSearch

# SIGHUP too: a console whose SSH session dropped checkpoints and exits like one stopped.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STATUS_EVERY_TTY_S = 0.25
STATUS_EVERY_LOG_S = 5.0
NO_NODE_HINT_AFTER_S = 5.0  # then say how to start a node, once
EXIT_STALLED = 1  # the search could not go on: same code as an error


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def status_line(snap: Snapshot) -> str:
    best = f"{snap.best_score:.4f}" if snap.best_score is not None else "--"
    live = sum(1 for n in snap.nodes if n.state not in ("lost", "left"))
    return (
        f"[{snap.state}] {snap.finished}/{snap.planned} done"
        f" ({snap.failed} failed{f', {snap.pruned} pruned' if snap.pruned else ''}),"
        f" {snap.running} running, best {best},"
        f" {snap.rate_per_s:.2f} trials/s, ETA {format_duration(snap.eta_s)},"
        f" {live} node(s)"
    )


class HeadlessReporter:
    """Turns scheduler events into lines; keeps one live status line when on a terminal."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.is_tty = out.isatty()
        self._status_shown = False

    def on_event(self, event: ev.Event) -> None:
        line = describe(event)
        if line:
            self.say(line)

    def say(self, line: str) -> None:
        if self._status_shown:
            self.out.write("\r\x1b[2K")  # clear the live status line before printing above it
            self._status_shown = False
        self.out.write(line + "\n")
        self.out.flush()

    def show_status(self, snap: Snapshot) -> None:
        if self.is_tty:
            self.out.write("\r\x1b[2K" + status_line(snap)[:200])
            self._status_shown = True
            self.out.flush()
        else:
            self.say(status_line(snap))


def describe(event: ev.Event) -> str | None:
    """One log line for the events worth a line; None for the high-rate ones."""
    match event:
        case ev.NodeJoined(node_id=n, host=h, address=a, slots=s, rejoined=r, warning=w):
            joined = f"node {n} ({h} at {a}, {s} slot(s)) {'rejoined' if r else 'joined'}"
            return f"{joined}; WARNING: it {w}" if w else joined
        case ev.NodeLost(node_id=n, reason=why, requeued=ids):
            return (
                f"node {n} gone ({why}); requeued trials {list(ids)}"
                if ids
                else f"node {n} gone ({why})"
            )
        case ev.NodeQuarantined(node_id=n, strikes=k, last_failure=why):
            return (
                f"node {n} quarantined after {k} faults in a row (last: {why}); "
                "it gets no more trials until released"
            )
        case ev.TrialScored(trial_id=t, score=s, std=sd, node_id=n, is_best=True):
            return f"new best: trial {t} scored {s:.4f} +- {sd:.4f} on {n}"
        case ev.TrialFailed(trial_id=t, status=st, error=e, final=final):
            return f"trial {t} {st}{'' if final else ' (will retry)'}: {e.splitlines()[-1][:200]}"
        case ev.TrialPruned(trial_id=t, folds_done=k, folds=n, running_mean=m):
            return f"trial {t} pruned after {k} of {n} folds (mean so far {m:.4f})"
        case ev.TrialRequeued(trial_id=t, reason=why):
            return f"trial {t} requeued: {why}"
        case ev.SearchStateChanged(state="paused"):
            return "search paused: running trials finish and are recorded, nothing new starts"
        case ev.SearchStateChanged(state=s):
            return f"search {s}"
        case ev.MessageDropped(peer=p, reason=why, total_dropped=n, repeats=1):
            return f"dropped a bad message from peer {p} ({why}); {n} dropped so far"
        case ev.MessageDropped(peer=p, reason=why, total_dropped=n, repeats=k):
            return f"dropped {k} more bad messages from peer {p} (last: {why}); {n} so far"
        case ev.ConnectionRefused(peer=p, reason=why, repeats=n):
            again = f" ({n} times since the last report)" if n > 1 else ""
            return f"refused a connection from {p}: {why}{again}"
        case ev.SchedulerError(message=m):
            return f"error: {m}"
        case ev.SearchWarning(message=m):
            return f"warning: {m}"
        case ev.SearchStalled(reason=None):
            return "no longer stalled: a node can take work again"
        case ev.SearchStalled(reason=why):
            return f"stalled: no node can take the work left: {why}"
    return None


async def run_headless(
    opened: OpenedSearch, options: LaunchOptions, out: TextIO = sys.stdout
) -> int:
    """Run the search to its end (or Ctrl-C); print the best trial; 0 on success."""
    reporter = HeadlessReporter(out)
    running = RunningSearch(opened, options, reporter.on_event, exit_when_done=True)
    spec, checkpoint, scheduler = opened.spec, opened.checkpoint, running.scheduler
    try:
        await running.start()
    except LAUNCH_ERRORS as exc:  # a setup problem, not a crash: say what to change
        print(f"hpo-console: {exc}", file=sys.stderr)
        await running.shutdown()
        return 2
    if running.warning:
        print(f"hpo-console: {running.warning}", file=sys.stderr)
    run_task = running.task
    assert run_task is not None
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, _on_interrupt, scheduler, reporter)
    for line in running.started_lines():
        reporter.say(line)
    stall_timeout = options.stall_timeout(spec.cluster)
    stalled = ""
    try:
        every = STATUS_EVERY_TTY_S if reporter.is_tty else STATUS_EVERY_LOG_S
        every = min(every, max(0.2, stall_timeout / 4)) if stall_timeout else every
        hint_at = asyncio.get_running_loop().time() + NO_NODE_HINT_AFTER_S
        while not run_task.done():
            await asyncio.wait({run_task}, timeout=every)
            snap = scheduler.snapshot()
            if hint_at and not snap.nodes and asyncio.get_running_loop().time() > hint_at:
                hint_at = 0.0  # once is enough
                reporter.say(
                    f"no node has joined yet; start one with: hpo-node --connect "
                    f"{connect_address(scheduler.endpoint)}"
                )
            reporter.show_status(snap)
            if stall_timeout and snap.stall_reason and snap.stalled_for_s > stall_timeout:
                stalled = (
                    f"stalled: no node could take the work left for {stall_timeout:g} s "
                    f"({snap.stall_reason}); stopping. Start nodes with: hpo-node --connect "
                    f"{connect_address(scheduler.endpoint)}, then reopen {checkpoint}"
                )
                reporter.say(stalled)
                scheduler.stop()
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await running.shutdown()
    if run_task.exception() is not None:
        exc = run_task.exception()
        reporter.say(f"hpo-console: the search stopped on an error: {type(exc).__name__}: {exc}")
        return 1
    snap = scheduler.snapshot()
    _print_summary(reporter, snap)
    best = scheduler.ledger.trials.get(snap.best_trial) if snap.best_trial is not None else None
    if best is not None and best.scores:  # a search recording several metrics: all of them
        means = (f"{name} {sum(v) / len(v):.4f}" for name, v in best.scores.items() if v)
        reporter.say(f"best trial {best.id} metrics: {', '.join(means)}")
    _print_failures(reporter, scheduler.ledger)
    if stalled:
        return EXIT_STALLED
    if snap.state == "finished" and snap.done == 0:
        reporter.say("hpo-console: the search finished but no trial scored (exit 1)")
        return 1
    if spec.export.auto and snap.state == "finished" and not running.finished_at_open:
        from console.store.export import export_after_search

        # Reports its own failure; the search's outcome (and exit status) stands either way.
        await asyncio.to_thread(export_after_search, checkpoint, reporter.say)
    return 0


def _on_interrupt(scheduler: Scheduler, reporter: HeadlessReporter) -> None:
    if scheduler.stopping:  # a second Ctrl-C: the user means it
        reporter.say("interrupted twice: exiting without waiting")
        sys.exit(130)
    reporter.say("stopping: handing running trials back and checkpointing (Ctrl-C again to quit)")
    scheduler.stop()


def _print_summary(reporter: HeadlessReporter, snap: Snapshot) -> None:
    reporter.say(
        f"search {snap.state}: {snap.done} scored, {snap.failed} failed, "
        f"{f'{snap.pruned} pruned, ' if snap.pruned else ''}"
        f"{snap.planned - snap.finished} not run, "
        f"in {format_duration(snap.elapsed_s)}"
    )
    if snap.best_trial is None:
        reporter.say("no trial scored")
    else:
        reporter.say(
            f"best trial {snap.best_trial}: score {snap.best_score:.4f} "
            f"+- {snap.best_std:.4f} (node {snap.best_node})"
        )
        reporter.say(f"best hyperparameters: {snap.best_params}")
    reporter.say(f"checkpoint: {snap.checkpoint} (reopen it to resume or inspect)")


def _print_failures(reporter: HeadlessReporter, ledger: Ledger, shown: int = 5) -> None:
    """Why trials failed, so nobody has to dig through the checkpoint to find out."""
    failed = [t for t in ledger.trials.values() if t.status == FAILED]
    for trial in failed[:shown]:
        last_line = (trial.error or "no message").strip().splitlines()[-1][:200]
        reporter.say(f"failed trial {trial.id} {trial.params}: {last_line}")
    if len(failed) > shown:
        reporter.say(f"... and {len(failed) - shown} more failed trial(s); see the checkpoint")
