"""Append-only result journal next to the checkpoint: a result is durable before it is ACKed.

Rewriting the whole TOML checkpoint for every result would cost milliseconds per trial, so each
final outcome is appended as one JSON line (written and flushed to the OS, which survives a killed
process) and the TOML checkpoint is rewritten every few seconds; after a successful checkpoint the
journal is emptied. On resume, journal lines override the checkpoint's rows.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("hpo.journal")


def journal_path_for(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".journal")


class Journal:
    """One JSON object per line; a torn last line (killed mid-write) is ignored on replay."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = None

    def append(self, row: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open
        self._file.write(json.dumps(row, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        """One write for all rows appended since the last flush (a group commit)."""
        if self._file is not None:
            self._file.flush()

    def sync(self) -> None:
        """Force what was appended to disk (called at checkpoints)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def reset(self) -> None:
        """Empty the journal: everything in it is now in the checkpoint."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def replay(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        rows = []
        with open(self.path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s:%d: unreadable journal line skipped", self.path, number)
                    continue
                if isinstance(row, dict) and "id" in row:
                    rows.append(row)
        return rows
