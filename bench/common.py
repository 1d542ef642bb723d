"""Shared bench helpers: machine header, search files, statistics and plain-text tables."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

from console.search.space import encode_none
from console.searchfile.spec import SearchSpec
from console.searchfile.toml_io import load_search

LOOPBACK = "tcp://127.0.0.1:0"  # port 0: the OS picks a free port, so runs never collide


def machine_header() -> str:
    """One line naming what the numbers were measured on."""
    import sklearn
    import zmq

    return (
        f"machine: {os.cpu_count()} cores ({platform.machine()}, {platform.system()}), "
        f"python {platform.python_version()}, scikit-learn {sklearn.__version__}, "
        f"pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()})"
    )


def write_search(
    folder: Path,
    *,
    name: str,
    estimator: str,
    space: dict[str, dict[str, Any]],
    strategy: str = "grid",
    max_trials: int | None = None,
    fixed: dict[str, Any] | None = None,
    dataset: str = "sklearn:digits",
    cv: int = 3,
    seed: int = 3,
    target: str | None = None,
    search_extra: dict[str, Any] | None = None,
) -> SearchSpec:
    """Write a search file (None spelled "None") into `folder` and load its validated spec.
    `search_extra`: more [search] keys or tables (e.g. {"pruning": {...}})."""
    search: dict[str, Any] = {"name": name, "strategy": strategy, "seed": seed}
    if max_trials is not None:
        search["max_trials"] = max_trials
    search.update(metric="accuracy", cv=cv, **(search_extra or {}))
    document = {
        "search": search,
        "dataset": {"source": dataset} | ({"target": target} if target else {}),
        "model": {"estimator": estimator, "fixed": encode_none(fixed or {})},
        "space": encode_none(space),
        "cluster": {"bind": LOOPBACK, "local_nodes": 0},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(tomli_w.dumps(document))
    return load_search(path).spec


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], fmt: str = ".2f") -> str:
    """'min..max' of repeated measurements, or '' for a single one."""
    return f"{min(values):{fmt}}..{max(values):{fmt}}" if len(values) > 1 else ""


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [row[0].ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def say(text: str = "") -> None:
    print(text, flush=True)


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat; (0, 0) elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(start: tuple[int, int], end: tuple[int, int]) -> str:
    """How busy the whole machine was between two cpu_ticks() readings, e.g. '98%'."""
    total = end[1] - start[1]
    return f"{100 * (end[0] - start[0]) / total:.0f}%" if total > 0 else "?"
