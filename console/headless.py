"""Headless front end: run a search to the end with live progress on a terminal (or log lines)."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from console.attach.host import ConsoleHost
from console.local_nodes import connect_address
from console.running_search import LaunchOptions
from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.scheduler.ledger import FAILED, Ledger
from console.searchfile.session import OpenedSearch
from console.view.event_lines import describe
from console.view.models import Snapshot
from console.view.wording import format_duration, status_line

# SIGHUP too: a console whose SSH session dropped checkpoints and exits like one stopped.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STATUS_EVERY_TTY_S = 0.25
STATUS_EVERY_LOG_S = 5.0
NO_NODE_HINT_AFTER_S = 5.0  # then say how to start a node, once
EXIT_STALLED = 1  # the search could not go on: same code as an error


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


async def run_headless(
    opened: OpenedSearch,
    options: LaunchOptions,
    out: TextIO = sys.stdout,
    control_bind: str | None = None,
) -> int:
    """Run the search to its end (or Ctrl-C); print the best trial; 0 on success.

    Operators can attach meanwhile (hpo-console attach): the host serves the control socket.
    """
    reporter = HeadlessReporter(out)
    host = ConsoleHost(
        opened,
        options,
        exit_when_done=True,
        listeners=(reporter.on_event,),
        can_switch=False,  # one search, to its end
        auto_export=False,  # done below, once the search is over
        control_bind=control_bind,
    )
    host.echo = reporter.say
    await host.start()
    running = host.running
    assert running is not None
    spec, checkpoint, scheduler = opened.spec, opened.checkpoint, running.scheduler
    if host.launch_error is not None:  # a setup problem, not a crash: say what to change
        print(f"hpo-console: {host.launch_error}", file=sys.stderr)
        await host.shutdown()
        return 2
    if host.control is not None:
        reporter.say(f"operators attach with: hpo-console attach {checkpoint}")
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
        await host.shutdown()
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
