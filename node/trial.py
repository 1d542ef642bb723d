"""Run one trial in this process: build the estimator, cross-validate fold by fold, report."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from node import estimators

FoldCallback = Callable[[int, int, float], None]  # (fold number, folds in all, score)

NOOP_ESTIMATOR = "noop"  # measures dispatch overhead: no data, no fitting
MAX_ERROR_CHARS = 2000


def run_trial(task: dict[str, Any], on_fold: FoldCallback | None = None) -> dict[str, Any]:
    """Cross-validate one estimator as `task` describes; the result body, never an exception."""
    started = time.perf_counter()
    if task.get("estimator") == NOOP_ESTIMATOR:
        folds = list(task.get("folds") or range(1, task.get("cv", 0) + 1))
        return _body("ok", [0.0] * len(folds), started, folds=folds, mean=0.0, std=0.0)
    fold_scores: list[float] = []
    fold_numbers: list[int] = []
    try:
        _cross_validate(task, fold_scores, fold_numbers, on_fold)
        import numpy as np

        # numpy's mean and std, exactly as cross_val_score(...).mean() and .std() round.
        mean, std = float(np.mean(fold_scores)), float(np.std(fold_scores))
        if not math.isfinite(mean):
            raise ValueError(f"mean score {mean} is not finite")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        return _body("error", fold_scores, started, folds=fold_numbers, error=error)
    return _body("ok", fold_scores, started, folds=fold_numbers, mean=mean, std=std)


def _cross_validate(
    task: dict[str, Any],
    fold_scores: list[float],
    fold_numbers: list[int],
    on_fold: FoldCallback | None,
) -> None:
    """Append each fold's score to `fold_scores` as it is computed (kept if a later fold fails).

    Only the folds in `task["folds"]` run (1-based, in the splitter's order; empty = all), so a
    trial's folds can be spread over several units and still be the folds cross_val_score sees.
    """
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import KFold, StratifiedKFold

    from node.datasets import load_dataset

    metric: str = task["metric"]
    folds: int = task["cv"]
    seed: int = task["seed"]
    scorer = get_scorer(metric)
    estimator = estimators.build_estimator(task["estimator"], task.get("params"), seed)
    X, y = load_dataset(task["dataset"])
    # The same splits cross_val_score would use with this splitter, so scores are comparable.
    splitter_class = StratifiedKFold if is_classifier(estimator) else KFold
    splitter = splitter_class(n_splits=folds, shuffle=True, random_state=seed)
    wanted = set(task.get("folds") or range(1, folds + 1))
    for fold, (train, test) in enumerate(splitter.split(X, y), start=1):
        if fold not in wanted:
            continue
        model = clone(estimator)
        model.fit(X[train], y[train])
        score = float(scorer(model, X[test], y[test]))
        if not math.isfinite(score):
            # nan/inf would poison the mean and cannot travel as JSON; fail the trial here.
            raise ValueError(
                f"fold {fold} of {folds} scored {score} with metric {metric!r}; "
                "a non-finite score counts as an error"
            )
        fold_scores.append(score)
        fold_numbers.append(fold)
        if on_fold is not None:
            on_fold(fold, folds, score)


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
