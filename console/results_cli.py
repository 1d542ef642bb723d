"""`hpo-console results FILE`: a checkpoint's top trials as a table, every trial as CSV or JSON."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from console.atomicfile import write_atomically
from console.records import SAVED_STATUSES, TrialRecord, TrialStatus
from console.results import (
    Results,
    ResultsError,
    columns,
    flat_row,
    metric_names,
    nested_row,
    param_names,
    pareto_ids,
    ranked,
    read_results,
)
from console.search.objectives import FIT_TIME

EXIT_BAD_INPUT = 2
STATUS_NAMES = tuple(str(status) for status in SAVED_STATUSES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console results",
        description="Show a saved search's trials, best first (the journal of a killed console "
        "is read too), and write them all as CSV or JSON.",
    )
    parser.add_argument("file", type=Path, help="a checkpoint, e.g. runs/NAME.toml")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="table rows (default 10)")
    parser.add_argument("--all", action="store_true", help="every trial in the table")
    parser.add_argument(
        "--status",
        action="append",
        choices=STATUS_NAMES,
        help="only trials with this status (repeat for several); applies to CSV and JSON too",
    )
    parser.add_argument(
        "--pareto",
        action="store_true",
        help="only the trials on the Pareto front of the search's objectives (table, CSV, JSON)",
    )
    parser.add_argument("--csv", metavar="PATH|-", help="every trial as CSV (- for stdout)")
    parser.add_argument("--json", metavar="PATH|-", help="every trial as JSON (- for stdout)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv[1:])
    if args.top < 1:
        return _fail("--top must be at least 1")
    if args.csv == "-" and args.json == "-":
        return _fail("only one of --csv and --json can go to stdout (-)")
    try:
        results = read_results(args.file)
    except ResultsError as exc:
        return _fail(str(exc))
    for warning in results.warnings:
        print(f"hpo-console results: warning: {warning}", file=sys.stderr)
    if args.pareto and not results.spec.objectives:
        return _fail(
            f"{args.file}: --pareto needs several objectives ([search] objectives = [...]); "
            "this search has one, its best trial is the front"
        )
    records = ranked(results.records)
    front = pareto_ids(results.spec, results.records) if results.spec.objectives else None
    if args.status:
        records = [r for r in records if str(r.status) in args.status]
    if args.pareto:
        records = [r for r in records if front and r.id in front]
    try:
        if args.csv:
            _emit(args.csv, _csv_text(results, records, front))
        if args.json:
            _emit(args.json, _json_text(results, records, front))
    except OSError as exc:
        return _fail(f"cannot write {exc.filename}: {exc.strerror or exc}")
    if "-" not in (args.csv, args.json):  # stdout carries the data alone when asked for it
        print(_table(results, records, None if args.all else args.top, front))
    return 0


def _fail(message: str) -> int:
    print(f"hpo-console results: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _emit(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        write_atomically(Path(target), text)  # a reader never sees half a file


def _csv_text(results: Results, records: list[TrialRecord], front: set[int] | None) -> str:
    params, metrics = param_names(results.spec, records), metric_names(records)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(results.spec, records), lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = flat_row(record, params, metrics, front)
        # One cell per value: fold scores joined by ';', None as an empty cell.
        row["fold_scores"] = ";".join(repr(s) for s in record.fold_scores)
        writer.writerow(row)
    return out.getvalue()


def _json_text(results: Results, records: list[TrialRecord], front: set[int] | None) -> str:
    document: dict[str, object] = {
        "search": results.spec.name,
        "metric": results.spec.metric,
    }
    if results.spec.objectives:
        document["objectives"] = list(results.spec.objectives)
    document |= {
        "status": results.status,
        "trials": [nested_row(record, front) for record in records],
    }
    return json.dumps(document, indent=2) + "\n"


def _table(
    results: Results, records: list[TrialRecord], top: int | None, front: set[int] | None
) -> str:
    scored = [r for r in records if r.status == TrialStatus.OK]
    other = [r for r in records if r.status != TrialStatus.OK]
    shown = scored[:top] + other[:top] if top is not None else records
    params = param_names(results.spec, shown)
    spec = results.spec
    # With several objectives: a mark for the front, and each objective not shown already.
    extra = [name for name in spec.objectives if name not in (spec.metric, FIT_TIME)]
    marks = ["pareto"] if front is not None else []
    header = ["rank", "id", "status", *marks, spec.metric, *extra, "std", *params, "node", "time_s"]
    rows = [header]
    for rank, record in enumerate(shown, start=1):
        means = record.metric_means()
        rows.append(
            [
                str(rank) if record.status == TrialStatus.OK else "-",
                str(record.id),
                str(record.status),
                *(["*" if record.id in (front or ()) else ""] if marks else []),
                _num(record.score),
                *(_num(means.get(name)) for name in extra),
                _num(record.std),
                *(_value(record.params.get(name, "")) for name in params),
                record.node or "",
                _num(record.duration_s, 1),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]  # fmt: skip
    summary = f"{results.spec.name} ({results.status}): {len(scored)} scored"
    summary += f", {len(other)} other" if other else ""
    if front is not None:
        summary += f"; {len(front)} on the Pareto front of {', '.join(spec.objectives)}"
    if len(shown) < len(records):
        summary += f"; {len(shown)} shown, --all for every trial"
    for record in other[: top or len(other)]:
        if record.error:
            lines.append(f"trial {record.id} {record.status}: {record.error.splitlines()[0]}")
    return "\n".join([summary, *(line.rstrip() for line in lines)])


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
