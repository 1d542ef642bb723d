"""`hpo-console export | pull | dataset push`: the object store from the command line."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

from console.store.objectstore import (
    NOT_CONFIGURED,
    ObjectStore,
    StoreConfig,
    StoreError,
    parse_s3_url,
)

EXIT_STORE = 1
EXIT_BAD_INPUT = 2
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BadInput(Exception):
    """The command line or a named file is wrong: exit 2, nothing done."""


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    parser = _PARSERS[command]()
    args = parser.parse_args(rest)
    try:
        config = StoreConfig.from_env()
        if config is None:
            raise BadInput(NOT_CONFIGURED)
        return _COMMANDS[command](args, config)
    except BadInput as exc:
        print(f"hpo-console {command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as exc:
        print(f"hpo-console {command}: {exc}", file=sys.stderr)
        return EXIT_STORE


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console export",
        description="Refit the best trial of a saved search on the full dataset and upload it "
        "(skops) with a manifest to [export] bucket; MINIO_* env vars say where.",
    )
    parser.add_argument("file", type=Path, help="a checkpoint, e.g. runs/NAME.toml")
    parser.add_argument(
        "--json", action="store_true", help="end with one line of JSON describing the export"
    )
    return parser


def _export(args: argparse.Namespace, config: StoreConfig) -> int:
    from console.searchfile.toml_io import SearchFileError, load_search
    from console.store.export import ExportError, best_trial, export_best

    try:
        loaded = load_search(args.file)
    except SearchFileError as exc:
        raise BadInput(f"\n{exc}") from None
    if best_trial(loaded) is None:
        raise BadInput(f"no finished trial to export in {args.file}")
    try:
        result = export_best(loaded, config, on_progress=print)
    except ExportError as exc:
        raise StoreError(str(exc)) from None
    print(
        f"exported trial {result.trial_id} ({result.metric} {result.score:.4f}) as "
        f"s3://{result.bucket}/{result.model_key} in {result.seconds:.1f} s"
    )
    print(f"load it with: hpo-console pull {result.pointer_url} -o model.skops")
    if args.json:  # for programs (the console) that want the result without parsing prose
        print(json.dumps({**dataclasses.asdict(result), "pointer_url": result.pointer_url}))
    return 0


def _pull_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console pull",
        description="Download the model a best.json names, verifying its size and sha256; "
        "nothing is written at -o unless it matches.",
    )
    parser.add_argument("pointer", help="s3://BUCKET/SEARCH/best.json")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("model.skops"), metavar="PATH",
        help="where to write the model (default: model.skops)",
    )  # fmt: skip
    parser.add_argument("--manifest", type=Path, metavar="PATH", help="also save best.json here")
    return parser


def _pull(args: argparse.Namespace, config: StoreConfig) -> int:
    bucket, key = _s3_url(args.pointer)
    store = ObjectStore(config, on_retry=print)
    manifest = store.read_json(bucket, key)
    if manifest is None:
        raise StoreError(f"{args.pointer} does not exist on {config.url}")
    model_key, sha256, size = _pointer_fields(args.pointer, manifest)
    store.download_verified(bucket, model_key, size, sha256, args.output)
    if args.manifest:
        import json

        args.manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.output} ({size} bytes, sha256 verified) from s3://{bucket}/{model_key}")
    print(
        f"trial {manifest.get('trial_id')}: {manifest.get('estimator')} "
        f"{manifest.get('metric')} {manifest.get('score')}; params {manifest.get('params')}"
    )
    trusted = manifest.get("skops_trusted_types") or []
    print(f"load with skops.io.load({str(args.output)!r}, trusted={trusted!r})")
    return 0


def _pointer_fields(url: str, manifest: dict[str, Any]) -> tuple[str, str, int]:
    model_key, sha256, size = (manifest.get(k) for k in ("model_key", "sha256", "size"))
    valid = (
        isinstance(model_key, str) and model_key and isinstance(sha256, str)
        and _SHA256.fullmatch(sha256) and isinstance(size, int) and size >= 0
    )  # fmt: skip
    if not valid:
        raise StoreError(f"{url} is not a zmq-hpo best.json (model_key, sha256, size missing)")
    return model_key, sha256, size  # type: ignore[return-value]


def _dataset_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo-console dataset",
        description="Upload a CSV to the object store and print the [dataset] table that uses "
        "it; nodes fetch it once and cache it by sha256.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    push = sub.add_parser("push", help="upload FILE.csv to s3://BUCKET/KEY.csv")
    push.add_argument("file", type=Path)
    push.add_argument("url", help="s3://BUCKET/KEY.csv")
    push.add_argument("--target", default="target", help="label column (default: target)")
    return parser


def _dataset(args: argparse.Namespace, config: StoreConfig) -> int:
    bucket, key = _s3_url(args.url)
    if not key.endswith(".csv"):
        raise BadInput(f"{args.url}: expected s3://BUCKET/KEY.csv")
    _check_csv(args.file, args.target)
    store = ObjectStore(config, on_retry=print)
    store.ensure_bucket(bucket)
    sha256 = store.put_file(bucket, key, args.file, "text/csv")
    size = args.file.stat().st_size
    store.verify(bucket, key, size, sha256)
    print(f"uploaded {args.file} ({size} bytes) to {args.url}, verified; use it with:\n")
    print(f'[dataset]\nsource = "{args.url}"\ntarget = "{args.target}"\nsha256 = "{sha256}"')
    return 0


def _check_csv(path: Path, target: str) -> None:
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            header = [name.strip() for name in next(csv.reader(file), [])]
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if target not in header:
        raise BadInput(
            f"{path} has no column {target!r} (columns: {', '.join(header) or 'none'}); "
            "name the label column with --target"
        )


def _s3_url(url: str) -> tuple[str, str]:
    try:
        return parse_s3_url(url)
    except StoreError as exc:
        raise BadInput(str(exc)) from None


_PARSERS = {"export": _export_parser, "pull": _pull_parser, "dataset": _dataset_parser}
_COMMANDS = {"export": _export, "pull": _pull, "dataset": _dataset}
