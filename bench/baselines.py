"""Baselines for the workload bench: serial cross-validation in-process, and GridSearchCV."""

from __future__ import annotations

import heapq
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed, parallel_config
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from threadpoolctl import threadpool_limits

from bench.common import busy_share, cpu_ticks
from console.search.base import make_strategy
from console.search.space import ChoiceParam
from console.searchfile.spec import SearchSpec
from node.datasets import load_dataset
from node.estimators import build_estimator
from node.trial import run_trial

Scored = list[tuple[dict[str, Any], float]]  # (params, mean CV score) in grid order


@dataclass(frozen=True)
class Measured:
    """One timed baseline: seconds, how busy the machine was meanwhile, and the scores."""

    seconds: float
    busy: str
    scored: Scored
    durations: tuple[float, ...] = ()  # per trial, for the serial run


def grid_params(spec: SearchSpec) -> list[dict[str, Any]]:
    """Every trial's params, in the order the scheduler creates them."""
    strategy = make_strategy(spec.strategy, spec.space, spec.seed, spec.max_trials)
    trials = []
    while (params := strategy.ask(len(trials))) is not None:
        trials.append(params)
    return trials


def task_for(spec: SearchSpec, trial_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """A TASK body as the scheduler sends it."""
    return {
        "trial_id": trial_id,
        "attempt": 1,
        "lease_id": f"serial-{trial_id}",
        "timeout_s": spec.trial_timeout_s,
        "estimator": spec.model.estimator,
        "params": {**spec.model.fixed, **params},
        "cv": spec.cv,
        "metric": spec.metric,
        "seed": spec.seed,
        "dataset": spec.dataset_ref(),
        "search": spec.config_hash(),
    }


def run_serial(spec: SearchSpec) -> Measured:
    """Each trial's CV with node.trial.run_trial, one after another on one core: summed seconds."""
    load_dataset(spec.dataset_ref())  # loading (and caching) the data is not a trial's work
    durations, scored = [], []
    cpu_start = cpu_ticks()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=200 does not always converge: expected
        for trial_id, params in enumerate(grid_params(spec)):
            started = time.perf_counter()
            result = run_trial(task_for(spec, trial_id, params))
            durations.append(time.perf_counter() - started)
            if result["status"] != "ok":
                raise RuntimeError(f"serial trial {trial_id} failed: {result['error']}")
            scored.append((params, result["mean"]))
    busy = busy_share(cpu_start, cpu_ticks())
    return Measured(sum(durations), busy, scored, tuple(durations))


def in_order_makespan(durations: tuple[float, ...], workers: int) -> float:
    """Finish time if each trial, in order, goes to the first free worker, with zero overhead."""
    free_at = [0.0] * workers
    for duration in durations:
        heapq.heappush(free_at, heapq.heappop(free_at) + duration)
    return max(free_at)


def _grid(spec: SearchSpec) -> dict[str, list[Any]]:
    grid = {}
    for name, param in spec.space.items():
        if not isinstance(param, ChoiceParam):
            raise TypeError(f"space.{name}: the workload bench uses choice parameters only")
        grid[name] = list(param.values)
    if list(grid) != sorted(grid):
        # ParameterGrid walks sorted names; same order as the scheduler's grid -> same tie-breaks.
        raise ValueError("list the space's parameters alphabetically")
    return grid


def warm_loky(n_jobs: int) -> None:
    """Start the loky worker pool, so GridSearchCV is timed warm (as the nodes are)."""
    with parallel_config(backend="loky", inner_max_num_threads=1):
        Parallel(n_jobs=n_jobs)(delayed(abs)(-i) for i in range(4 * n_jobs))


def run_gridsearch(spec: SearchSpec, n_jobs: int = 2) -> Measured:
    """GridSearchCV wall seconds (refit=False: the same work as the trials) and its scores."""
    X, y = load_dataset(spec.dataset_ref())
    estimator = build_estimator(spec.model.estimator, spec.model.fixed, spec.seed)
    splitter = StratifiedKFold(n_splits=spec.cv, shuffle=True, random_state=spec.seed)
    search = GridSearchCV(
        estimator, _grid(spec), scoring=spec.metric, cv=splitter, n_jobs=n_jobs, refit=False
    )
    # BLAS/OpenMP pinned to 1 thread here and in the loky workers, as in the nodes' children.
    with (
        threadpool_limits(1),
        parallel_config(backend="loky", inner_max_num_threads=1),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        cpu_start, started = cpu_ticks(), time.perf_counter()
        search.fit(X, y)
        wall, cpu_end = time.perf_counter() - started, cpu_ticks()
    results = search.cv_results_
    scored = [
        (dict(params), float(score))
        for params, score in zip(results["params"], results["mean_test_score"], strict=True)
    ]
    return Measured(wall, busy_share(cpu_start, cpu_end), scored)


def best_of(scored: Scored) -> tuple[dict[str, Any], float]:
    """Highest mean score; ties go to the earliest grid point (as GridSearchCV's rank 1)."""
    index = int(np.argmax([score for _, score in scored]))
    return scored[index]
