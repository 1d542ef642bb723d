"""Run one trial in this process: build the estimator, cross-validate fold by fold, report."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from node.protocol import STATUS_UNAVAILABLE

# (fold number, folds in all, the ranked score, every metric's score when there are several)
FoldCallback = Callable[[int, int, float, dict[str, float]], None]

NOOP_ESTIMATOR = "noop"  # measures dispatch overhead: no data, no fitting
MAX_ERROR_CHARS = 2000


class _Unavailable(Exception):
    """This node could not load the trial's dataset."""


def run_trial(task: dict[str, Any], on_fold: FoldCallback | None = None) -> dict[str, Any]:
    """Cross-validate one estimator as `task` describes; the result body, never an exception."""
    started = time.perf_counter()
    if task.get("estimator") == NOOP_ESTIMATOR:
        folds = list(task.get("folds") or range(1, task.get("cv", 0) + 1))
        return _body("ok", [0.0] * len(folds), started, folds=folds, mean=0.0, std=0.0)
    fold_scores: list[float] = []
    fold_numbers: list[int] = []
    all_scores: dict[str, list[float]] = {}
    try:
        _cross_validate(task, fold_scores, fold_numbers, on_fold, all_scores)
        import numpy as np

        # numpy's mean and std, exactly as cross_val_score(...).mean() and .std() round.
        mean, std = float(np.mean(fold_scores)), float(np.std(fold_scores))
        if not math.isfinite(mean):
            raise ValueError(f"mean score {mean} is not finite")
    except _Unavailable as exc:
        # The console loaded this dataset before dispatching: failing here is this node's fault.
        error = f"dataset unavailable: {exc}"[:MAX_ERROR_CHARS]
        return _body(STATUS_UNAVAILABLE, [], started, error=error)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        body = _body("error", fold_scores, started, folds=fold_numbers, error=error)
        return body | {"scores": all_scores}
    body = _body("ok", fold_scores, started, folds=fold_numbers, mean=mean, std=std)
    return body | {"scores": all_scores}


def _cross_validate(
    task: dict[str, Any],
    fold_scores: list[float],
    fold_numbers: list[int],
    on_fold: FoldCallback | None,
    all_scores: dict[str, list[float]] | None = None,
) -> None:
    """Append each fold's score to `fold_scores` as it is computed (kept if a later fold fails).

    Only the folds in `task["folds"]` run (1-based, in the splitter's order; empty = all), so a
    trial's folds can be spread over several units and still be the folds cross_val_score sees.
    With several metrics, `fold_scores` is the ranked one and `all_scores` holds each metric's.
    """
    from sklearn.base import clone, is_classifier

    from node import pipelines, splitting
    from node.datasets import DatasetUnavailable, load_table

    seed: int = task["seed"]
    scoring = task.get("scoring") or {}
    metric: str = scoring.get("rank") or task["metric"]
    names = list(scoring.get("metrics") or [metric])
    scorers = {name: splitting.build_scorer(name, scoring.get("scorers") or {}) for name in names}
    try:
        table = load_table(task["dataset"])
    except DatasetUnavailable as exc:
        raise _Unavailable(str(exc)) from None
    X, y = table.X, table.y
    estimator = pipelines.build_model(
        task["estimator"],
        task.get("params"),
        seed,
        task.get("pipeline"),
        list(table.columns),
        list(table.kinds),
    )
    # The same splits cross_val_score would use with this splitter, so scores are comparable.
    cv = task.get("splitter") or {}
    if cv:
        splitter, folds = splitting.build_splitter(cv, seed), splitting.n_folds(cv)
    else:
        folds = task["cv"]
        splitter = splitting.legacy_splitter(folds, seed, is_classifier(estimator))
    wanted = set(task.get("folds") or range(1, folds + 1))
    for fold, (train, test) in enumerate(splitter.split(X, y, table.groups), start=1):
        if fold not in wanted:
            continue
        model = clone(estimator)
        model.fit(X[train], y[train])
        scores = {name: float(scorer(model, X[test], y[test])) for name, scorer in scorers.items()}
        for name, score in scores.items():
            if not math.isfinite(score):
                # nan/inf would poison the mean and cannot travel as JSON; fail the trial here.
                raise ValueError(
                    f"fold {fold} of {folds} scored {score} with metric {name!r}; "
                    "a non-finite score counts as an error"
                )
        if all_scores is not None and len(names) > 1:
            for name, score in scores.items():
                all_scores.setdefault(name, []).append(score)
        fold_scores.append(scores[metric])
        fold_numbers.append(fold)
        if on_fold is not None:
            on_fold(fold, folds, scores[metric], scores if len(names) > 1 else {})


def _body(
    status: str,
    fold_scores: list[float],
    started: float,
    *,
    folds: list[int] | None = None,
    mean: float | None = None,
    std: float | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "mean": mean,
        "std": std,
        "fold_scores": list(fold_scores),
        "folds": list(folds or ()),
        "fit_time_s": time.perf_counter() - started,
        "error": error,
    }
