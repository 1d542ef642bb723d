"""Exporting the best model for a console: `e` from any operator, and `[export] auto` at the end.

The export runs as `hpo-console export CHECKPOINT` in a child process, not in a thread: refitting
a model is seconds of CPU, and in this process it would hold the GIL that the scheduler's socket
loop and the front ends need. Its output lines go to the log as they come.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from console.view.models import Notice


class Exporter:
    """One export at a time; `say` puts a line in the log, `notify` a toast for every operator."""

    def __init__(self, say: Callable[[str, str], None], notify: Callable[[Notice], None]) -> None:
        self.say = say
        self.notify = notify
        self.exported: tuple[int, str] | None = None  # (trial id, object URL) last exported
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, checkpoint: Path) -> None:
        self._task = asyncio.create_task(self._run(checkpoint))

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.wait({self._task})

    async def _run(self, checkpoint: Path) -> None:
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
                self.say(f"export: {line}", "info")
        code = await proc.wait()
        if code == 0 and result is not None:
            self.exported = (result["trial_id"], f"s3://{result['bucket']}/{result['model_key']}")
            self.notify(Notice("Exported", f"trial {result['trial_id']}: {result['pointer_url']}"))
        else:
            self.say("export failed; the search and its checkpoint are intact (e: retry)", "error")
            self.notify(Notice("Export failed", last or f"exit code {code}", "error", 15))
