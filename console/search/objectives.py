"""Several objectives: `[search] objectives = ["accuracy", "fit_time"]`, their directions, the
values a trial is told with, and the Pareto front of a search's trials.

An objective is one of the metrics the trial records (`metric` and `metrics`; maximised, as
every scikit-learn scorer is "greater is better") or `fit_time`: the trial's time on the nodes
in seconds (fitting and scoring each fold, summed over its units; minimised). The trial's score
stays the ranked `metric`: the best trial, the export and the ranking do not change.

Pure data, no Optuna import: reading a search file stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FIT_TIME = "fit_time"
# Strategies that take objectives: nsga2 needs them, tpe models them (Optuna's multi-objective
# TPE); random, grid and qmc do not look at values, so with them objectives only define the front
# (a baseline to compare with). CMA-ES and GP in Optuna are single-objective.
USES_OBJECTIVES = ("nsga2", "tpe")
IGNORES_OBJECTIVES = ("random", "grid", "qmc")
KEY = "search.objectives"


def objectives_errors(
    value: Any, strategy: str | None, recorded: Sequence[str], pruning: bool
) -> list[str]:
    """Why `objectives = value` cannot be used with this strategy, metrics and pruning, as
    'dotted.key: message' strings. `value` None: the key is absent."""
    if value is None:
        if strategy == "nsga2":
            return [f'{KEY}: required for strategy = "nsga2", e.g. ["{recorded[0]}", "{FIT_TIME}"]']
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return [f"{KEY}: expected an array of metric names and/or {FIT_TIME!r}"]
    errors = []
    if len(value) < 2:
        errors.append(f"{KEY}: needs at least 2 objectives (one is just `metric`), got {value}")
    if len(set(value)) < len(value):
        errors.append(f"{KEY}: lists an objective twice: {value}")
    for name in value:
        if name == FIT_TIME and FIT_TIME in recorded:
            errors.append(f"{KEY}: {FIT_TIME!r} is a metric's name too; rename that scorer")
        elif name != FIT_TIME and name not in recorded:
            listed = ", ".join(map(repr, [*recorded, FIT_TIME]))
            errors.append(
                f"{KEY}: {name!r} is not a recorded metric (add it to search.metrics); "
                f"choose from {listed}"
            )
    if strategy is not None and strategy not in (*USES_OBJECTIVES, *IGNORES_OBJECTIVES):
        errors.append(
            f'{KEY}: strategy "{strategy}" optimises one objective; use "nsga2" or "tpe" '
            "for several"
        )
    if pruning:
        errors.append(
            f"{KEY}: Optuna cannot prune a trial with several objectives; remove "
            "[search.pruning] or objectives"
        )
    return errors


def directions(objectives: Sequence[str]) -> list[str]:
    """Optuna's study directions: metrics are maximised, fit time minimised."""
    return ["minimize" if name == FIT_TIME else "maximize" for name in objectives]


def measures(
    score: float | None, metric_means: Mapping[str, float], duration_s: float | None, ranked: str
) -> dict[str, float]:
    """What a finished trial measured, by objective name: each metric's mean, the ranked one's
    being its score, and its fit time."""
    found = dict(metric_means)
    if score is not None:
        found[ranked] = score
    if duration_s is not None:
        found[FIT_TIME] = duration_s
    return found


def values_of(objectives: Sequence[str], measured: Mapping[str, float] | None) -> list[float]:
    """The objective values in order; KeyError naming the first one not measured."""
    measured = measured or {}
    for name in objectives:
        if name not in measured:
            raise KeyError(name)
    return [float(measured[name]) for name in objectives]


def pareto_front(points: Mapping[int, Sequence[float]], objectives: Sequence[str]) -> set[int]:
    """The keys whose values no other point dominates (at least as good in every objective and
    better in one; each objective in its direction). Ties are all on the front."""
    signs = [-1.0 if name == FIT_TIME else 1.0 for name in objectives]
    # Every objective "greater is better"; sorted best-first on the first, a point can only be
    # dominated by one before it: O(n * front) rather than O(n^2).
    oriented = sorted(
        ((tuple(s * v for s, v in zip(signs, vals, strict=True)), key)
         for key, vals in points.items()),
        reverse=True,
    )  # fmt: skip
    front: list[tuple[tuple[float, ...], int]] = []
    for values, key in oriented:
        if not any(_dominates(other, values) for other, _ in front):
            front.append((values, key))
    return {key for _, key in front}


def _dominates(a: Iterable[float], b: Iterable[float]) -> bool:
    pairs = list(zip(a, b, strict=True))
    return all(x >= y for x, y in pairs) and any(x > y for x, y in pairs)
