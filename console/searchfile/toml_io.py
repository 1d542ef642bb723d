"""Search files on disk: TOML parsing with located errors, saved state, atomic checkpoint writes."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from console.atomicfile import write_atomically
from console.records import ROW_DEFAULTS, SAVED_STATUSES, OpenLease, RecordError
from console.search.space import NONE_TOKEN, decode_none, describe, encode_none, suggest
from console.searchfile.spec import (
    SPEC_TABLES,
    ClusterSpec,
    DatasetSpec,
    ExportSpec,
    ModelSpec,
    SearchSpec,
    spec_from_dict,
)
from console.searchfile.tomlcheck import Section, locate, syntax_error

STATE_STATUSES = ("pending", "running", "paused", "stopped", "finished")
TRIAL_STATUSES = tuple(str(status) for status in SAVED_STATUSES)
TRIAL_DEFAULTS: dict[str, Any] = ROW_DEFAULTS
_TOP_LEVEL = (*SPEC_TABLES, "state", "trials")
HEADER = (
    "# Written by zmq-hpo: reopen this file with hpo-console to resume the search.\n"
    "# [cluster] and [export] may be edited here. To raise max_trials or widen [space], edit\n"
    "# the search file you started from and open that: it extends this one, keeping its trials.\n\n"
)


class SearchFileError(Exception):
    """An unusable search file; `errors` has one 'file[:line[:col]]: key: message' per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__(self.errors)  # args stay the list, so the error pickles faithfully

    def __str__(self) -> str:
        return "\n".join(self.errors)


class StateMismatchError(SearchFileError):
    """The file's [state] was saved for a different spec, so its trials do not belong to it."""


@dataclass(frozen=True)
class SavedState:
    status: str
    config_hash: str
    saved_at: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    # Search time so far (a resumed search goes on from here; files from before it read as 0).
    elapsed_s: float = 0.0
    # (trial id, search time) when the best trial so far was recorded, for "found at".
    best_found: tuple[int, float] | None = None


@dataclass(frozen=True)
class LoadedSearch:
    path: Path
    spec: SearchSpec
    state: SavedState | None


def load_search(path: str | Path) -> LoadedSearch:
    """Read, validate and return a search file; SearchFileError lists every problem found."""
    path = Path(path)
    label = str(path)
    try:
        # Some editors start UTF-8 files with a byte-order mark, which TOML does not allow.
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except OSError as exc:
        raise SearchFileError([f"{label}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise SearchFileError([f"{label}: not UTF-8 text (bad byte at {exc.start})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SearchFileError([syntax_error(label, exc)]) from None
    errors = [
        f"{key}: unknown {'table' if isinstance(value, dict) else 'key'}{suggest(key, _TOP_LEVEL)}"
        for key, value in data.items()
        if key not in _TOP_LEVEL
    ]
    spec, spec_errors = spec_from_dict(data)
    errors += spec_errors
    state = _read_state(data, errors)
    if errors or spec is None:
        raise SearchFileError(locate(label, text, errors))
    if state is not None and state.config_hash != spec.config_hash():
        message = (
            f"state.config_hash: state was produced by a different spec (saved for "
            f"{state.config_hash}, this spec is {spec.config_hash()}); restore the original "
            "[search], [dataset], [model] and [space]; to extend the search (more trials, a wider "
            "space) edit the search file it was started from and open that instead"
        )
        raise StateMismatchError(locate(label, text, [message]))
    return LoadedSearch(path=path, spec=spec, state=state)


def save_search(path: str | Path, spec: SearchSpec, state: SavedState) -> None:
    """Write spec and state to `path` atomically: the old file survives any failure intact."""
    if state.config_hash != spec.config_hash():
        raise ValueError(f"state.config_hash {state.config_hash} is not this spec's")
    document = spec_to_toml_dict(spec)
    document["state"] = {
        "status": state.status,
        "config_hash": state.config_hash,
        "saved_at": state.saved_at,
        "elapsed_s": round(state.elapsed_s, 3),
    }
    if state.best_found is not None:
        trial_id, found_s = state.best_found
        document["state"]["best_found"] = {"trial": trial_id, "elapsed_s": round(found_s, 3)}
    if state.trials:
        document["trials"] = [_trial_to_toml(trial) for trial in state.trials]
    # Refuse to write what load_search would reject: a checkpoint must always reopen.
    problems: list[str] = []
    _read_state(document, problems)
    if problems:
        raise ValueError("cannot save search state: " + "; ".join(problems))
    write_atomically(Path(path), HEADER + tomli_w.dumps(document))


def spec_to_toml_dict(spec: SearchSpec) -> dict[str, Any]:
    """The spec as TOML-ready tables (None written as "None"; unset optional keys left out)."""
    search = {
        "name": spec.name,
        "strategy": spec.strategy,
        "max_trials": spec.max_trials,
        "seed": spec.seed,
        "metric": spec.metric,
        "cv": spec.cv,
        "trial_timeout_s": spec.trial_timeout_s,
        "max_attempts": spec.max_attempts,
        "parallelism": spec.parallelism,
    }
    if spec.pruning.enabled:
        search["pruning"] = spec.pruning.to_toml()
    # The tabular keys only when set, so an old search's checkpoint reads exactly as before.
    if spec.metrics:
        search["metrics"] = list(spec.metrics)
    if spec.objectives:
        search["objectives"] = list(spec.objectives)
    if spec.scorers:
        search["scorers"] = spec.scorers
    if spec.splitter:
        search["cv"] = spec.splitter
    dataset = _drop_none(asdict(spec.dataset))
    dataset["features"] = list(spec.dataset.features) if spec.dataset.features else None
    dataset["drop"] = list(spec.dataset.drop) or None
    model = {"estimator": spec.model.estimator, "fixed": encode_none(spec.model.fixed)}
    if spec.model.pipeline:
        model["steps"] = dict(spec.model.pipeline["steps"])
        if spec.model.pipeline.get("columns"):
            model["columns"] = {
                group: {"select": body["select"], "steps": dict(body["steps"])}
                for group, body in spec.model.pipeline["columns"].items()
            }
    return {
        "search": _drop_none(search),
        "dataset": _drop_none(dataset),
        "model": model,
        "space": {name: param.to_toml() for name, param in spec.space.items()},
        "cluster": _drop_none(asdict(spec.cluster)),
        "export": asdict(spec.export),
    }


def _drop_none(table: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in table.items() if value is not None}


def _trial_to_toml(trial: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(trial) - set(TRIAL_DEFAULTS))
    if unknown:
        raise ValueError(f"trial {trial.get('id')!r}: unknown keys {', '.join(unknown)}")
    if "id" not in trial or "params" not in trial:
        raise ValueError(f"trial {trial.get('id')!r}: every trial needs an id and params")
    row = {key: trial.get(key, default) for key, default in TRIAL_DEFAULTS.items()}
    # Optional fields that are None are left out rather than spelled "None": clearer to read.
    row = _drop_none(row)
    if not row["leases"]:
        del row["leases"]  # only a trial that is out on a node has any
    if not row["folds"]:
        del row["folds"]  # only a trial with some of its folds recorded out of order has any
    if not row.get("scores"):
        row.pop("scores", None)  # only a search with several metrics has them
    if not row.get("sampler_attrs"):
        row.pop("sampler_attrs", None)  # only CMA-ES and NSGA-II keep state on trials
    row["params"] = encode_none(row["params"])
    return row


def _read_state(data: dict[str, Any], errors: list[str]) -> SavedState | None:
    if "state" not in data:
        if "trials" in data:
            errors.append("trials: saved trials need a [state] table")
        return None
    table = data["state"]
    if not isinstance(table, dict):
        errors.append(f"state: expected a table, got {describe(table)}")
        return None
    s = Section(table, "state", errors)
    status = s.choice("status", STATE_STATUSES)
    config_hash = s.string("config_hash")
    saved_at = s.string("saved_at")
    if saved_at is not None and not _is_iso(saved_at):
        s.error("saved_at", f"expected an ISO 8601 time, got {saved_at!r}")
    elapsed_s = s.number("elapsed_s", default=0.0)
    if elapsed_s is not None and elapsed_s < 0:
        s.error("elapsed_s", f"expected a time in seconds >= 0, got {elapsed_s!r}")
    best_found = s.get("best_found", None, "a {trial, elapsed_s} table", _is_best_found)
    trials = _read_trials(data.get("trials", []), errors)
    if not s.finish() or trials is None:
        return None
    return SavedState(
        status=status,
        config_hash=config_hash,
        saved_at=saved_at,
        trials=trials,
        elapsed_s=float(elapsed_s),
        best_found=(best_found["trial"], float(best_found["elapsed_s"])) if best_found else None,
    )


def _is_best_found(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"trial", "elapsed_s"}
        and isinstance(value["trial"], int)
        and not isinstance(value["trial"], bool)
        and isinstance(value["elapsed_s"], int | float)
        and not isinstance(value["elapsed_s"], bool)
    )


def _read_trials(raw: Any, errors: list[str]) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list):
        errors.append(f"trials: expected [[trials]] tables, got {describe(raw)}")
        return None
    first_error = len(errors)
    trials, seen = [], set()
    for index, item in enumerate(raw):
        trial = _read_trial(item, f"trials[{index}]", errors)
        if trial is None:
            continue
        if trial["id"] in seen:
            errors.append(f"trials[{index}].id: trial {trial['id']} appears more than once")
        seen.add(trial["id"])
        trials.append(trial)
    return trials if len(errors) == first_error else None


def _is_scores_table(value: Any) -> bool:
    return isinstance(value, dict) and all(map(_is_number_list, value.values()))


def _read_trial(raw: Any, where: str, errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a table, got {describe(raw)}")
        return None
    # "None" (and a missing key) both mean None for the optional fields.
    raw = {key: value for key, value in raw.items() if value != NONE_TOKEN or key == "params"}
    s = Section(raw, where, errors)
    trial = {
        "id": s.integer("id"),
        "params": s.table_("params"),
        "status": s.choice("status", TRIAL_STATUSES),
        "score": s.number("score", default=None),
        "std": s.number("std", default=None),
        "fold_scores": s.get("fold_scores", [], "an array of numbers", _is_number_list),
        "folds": s.get("folds", [], "an array of fold numbers", _is_fold_list),
        "attempts": s.integer("attempts", default=0),
        "failures": s.integer("failures", default=0),
        "node": s.string("node", default=None),
        "duration_s": s.number("duration_s", default=None),
        "error": s.string("error", default=None),
        "finished_at": s.string("finished_at", default=None),
        "leases": s.get("leases", [], "an array of {lease, node, attempt} tables", _is_lease_list),
        "scores": s.get("scores", {}, "a table of arrays of numbers", _is_scores_table),
        # Checked by TrialRecord.from_row: a bad one only loses the sampler's state, with a
        # warning, while the trial itself loads.
        "sampler_attrs": s.get("sampler_attrs", {}, "a table", lambda value: True),
    }
    if trial["finished_at"] is not None and not _is_iso(trial["finished_at"]):
        s.error("finished_at", f"expected an ISO 8601 time, got {trial['finished_at']!r}")
    if not s.finish():
        return None
    trial["params"] = decode_none(trial["params"])
    trial["fold_scores"] = [float(x) for x in trial["fold_scores"]]
    return trial


def _is_lease_list(value: Any) -> bool:
    try:
        return isinstance(value, list) and all(OpenLease.from_row(item) for item in value)
    except RecordError:
        return False


def _is_fold_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in value
    )


def _is_number_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    )


def _is_iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


__all__ = [
    "ClusterSpec",
    "DatasetSpec",
    "ExportSpec",
    "LoadedSearch",
    "ModelSpec",
    "SavedState",
    "SearchFileError",
    "SearchSpec",
    "StateMismatchError",
    "load_search",
    "save_search",
    "spec_to_toml_dict",
]
