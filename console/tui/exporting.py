"""Exporting the best model from the console: `e`, and `[export] auto` when a search finishes.

The export runs as `hpo-console export CHECKPOINT` in a child process, not in a thread: refitting
a model is seconds of CPU, and in this process it would hold the GIL that the scheduler's socket
loop and the screen need. Its output lines go to the log panel as they come.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from console.store.export import ExportError, store_config

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp


class Exporting:
    """The export action of ConsoleApp."""

    @property
    def exporting(self: ConsoleApp) -> bool:
        return any(w.group == "export" and w.is_running for w in self.workers)

    def action_export(self: ConsoleApp) -> None:
        self.start_export(reason="")

    def start_export(self: ConsoleApp, reason: str) -> None:
        if self.running is None:
            return
        scheduler = self.running.scheduler
        if scheduler.ledger.best is None:
            self.notify("no trial has scored yet: nothing to export", severity="warning")
            return
        try:
            store_config()  # the common mistake, said at once: no MINIO_* in the environment
        except ExportError as exc:
            self.notify(str(exc), title="Export", severity="warning", timeout=10)
            self.say(f"export skipped: {exc}", "warning")
            return
        if self.exporting:
            self.notify("an export is already running", severity="warning")
            return
        checkpoint = scheduler.save()  # the export reads the checkpoint: make it current
        self.say(f"exporting the best model (trial {scheduler.ledger.best.id}){reason}...")
        self._run_export(checkpoint)

    @work(exclusive=True, group="export", exit_on_error=False)
    async def _run_export(self: ConsoleApp, checkpoint: Path) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "console",
            "export",
            str(checkpoint),
            "--json",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        last, result = "", None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith("{"):
                result = json.loads(line)  # the --json summary, last
            elif line:
                last = line
                self.say(f"export: {line}")
        code = await proc.wait()
        if code == 0 and result is not None:
            self.best_panel.exported(
                result["trial_id"], f"s3://{result['bucket']}/{result['model_key']}"
            )
            self.notify(f"trial {result['trial_id']}: {result['pointer_url']}", title="Exported")
        else:
            self.say("export failed; the search and its checkpoint are intact (e: retry)", "error")
            self.notify(
                last or f"exit code {code}", title="Export failed", severity="error", timeout=15
            )
