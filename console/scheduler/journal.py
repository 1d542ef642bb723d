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

from console.records import RecordError, TrialRecord

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

    @property
    def saving_path(self) -> Path:
        """Where the journal's older segment waits while a background checkpoint is written."""
        return self.path.with_name(self.path.name + ".saving")

    def rotate(self) -> None:
        """Set what was journaled so far aside (synced) and start a new segment: a background
        checkpoint covers the old one, while new records go to the new one."""
        self.sync()
        self.close()
        if self.path.exists():
            os.replace(self.path, self.saving_path)

    def drop_saved(self) -> None:
        """The background checkpoint is written: the older segment is in it."""
        self.saving_path.unlink(missing_ok=True)

    def reset(self) -> None:
        """Empty the journal: everything in it is now in the checkpoint."""
        self.close()
        self.path.unlink(missing_ok=True)
        self.saving_path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def replay(self, search_hash: str) -> tuple[list[tuple[TrialRecord, str]], list[str]]:
        """The records this search journaled, each with its 'file:line', and a warning naming
        file and line for each line that could not be used (a torn last line, from a kill
        mid-write, is expected: no warning)."""
        records: list[tuple[TrialRecord, str]] = []
        warnings: list[str] = []
        for path in (self.saving_path, self.path):  # older segment first: later lines win
            if path.exists():
                self._replay_file(path, search_hash, records, warnings)
        return records, warnings

    def _replay_file(
        self,
        path: Path,
        search_hash: str,
        records: list[tuple[TrialRecord, str]],
        warnings: list[str],
    ) -> None:
        lines = path.read_bytes().split(b"\n")
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            problem = None
            try:
                row = json.loads(raw.decode("utf-8"))
                if not isinstance(row, dict):
                    raise RecordError("not a JSON object")
                if row.pop("search", None) != search_hash:
                    continue  # another search's line (the file was reused): not ours to read
                problems: list[str] = []
                records.append((TrialRecord.from_row(row, problems), f"{path}:{number}"))
                warnings += [f"{path}:{number}: {problem}" for problem in problems]
            except UnicodeDecodeError:
                problem = "not UTF-8 text"
            except json.JSONDecodeError as exc:
                if number == len(lines):  # the last line, cut short by a kill: expected
                    log.info("%s:%d: torn last line ignored", path, number)
                    continue
                problem = f"not JSON ({exc.msg})"
            except RecordError as exc:
                problem = str(exc)
            if problem is not None:
                warning = f"{path}:{number}: journal line skipped: {problem}"
                log.warning("%s", warning)
                warnings.append(warning)
