"""End to end on real nodes: tpe with fold-level pruning against whole-trial random search.

Both arms get the same budget of fold fits on the same 2 local nodes, in the same run; the search
sees a 75 % stratified split of the data, the other 25 % is a holdout on which each arm's best
parameters are refitted and scored. Reported per workload over the seeds: configurations explored
(trials with at least one fold), the best CV score, holdout accuracy, and how long the pruned arm
took to reach the baseline's final best.
"""

from __future__ import annotations

import csv
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster import run_search_sync
from bench.common import format_table, median, say, write_search
from console.scheduler import events as ev

CV = 5
NODES = 2
BUDGET_FOLD_FITS = 150
SEEDS = 5
QUICK_BUDGET, QUICK_SEEDS = 10, 1

WORKLOADS: dict[str, tuple[str, str, dict[str, dict[str, Any]]]] = {
    "svc-digits": (
        "svc",
        "digits",
        {
            "C": {"type": "float", "low": 0.01, "high": 1000.0, "log": True},
            "gamma": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
        },
    ),
    "extratrees-cancer": (
        "extra_trees",
        "breast_cancer",
        {
            "n_estimators": {"type": "int", "low": 10, "high": 200},
            "max_depth": {"type": "int", "low": 1, "high": 20},
            "min_samples_split": {"type": "int", "low": 2, "high": 20},
            "max_features": {"type": "float", "low": 0.05, "high": 1.0},
        },
    ),
}
PRUNING = {"pruner": "median", "min_trials": 5, "min_folds": 1}


@dataclass
class FoldCounter:
    """Counts fold fits (each PROGRESS recorded) and keeps the best-so-far curve, timed from the
    first dispatch: the nodes' start-up before it is not search time (SearchRun.wall_s agrees)."""

    started: float | None = None
    fold_fits: int = 0
    trials: set[int] = field(default_factory=set)
    best: list[tuple[float, float]] = field(default_factory=list)  # (seconds, best score)

    def __call__(self, event: ev.Event) -> None:
        if self.started is None and isinstance(event, ev.TrialDispatched):
            self.started = time.perf_counter()
        if isinstance(event, ev.TrialProgressed):
            self.fold_fits += 1
            self.trials.add(event.trial_id)
        elif isinstance(event, ev.TrialScored) and event.is_best:
            self.best.append((time.perf_counter() - (self.started or 0.0), event.score))

    def time_to(self, score: float) -> float | None:
        return next((at for at, best in self.best if best >= score - 1e-12), None)


@dataclass(frozen=True)
class ArmResult:
    configs: int
    best_cv: float
    holdout: float
    wall_s: float
    counter: FoldCounter


def _split(dataset: str, seed: int, folder: Path) -> tuple[Path, Any, Any, Any, Any]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    X_train, X_hold, y_train, y_hold = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    path = folder / f"{dataset}-{seed}-train.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"x{i}" for i in range(X.shape[1])] + ["target"])
        rows = zip(X_train, y_train, strict=True)
        writer.writerows([*map(float, row), int(label)] for row, label in rows)
    return path, X_train, X_hold, y_train, y_hold


def _holdout(estimator: str, params: dict[str, Any], seed: int, data: tuple) -> float:
    from node.estimators import build_estimator

    X_train, X_hold, y_train, y_hold = data
    model = build_estimator(estimator, params, seed)
    model.fit(X_train, y_train)
    return float(model.score(X_hold, y_hold))


def run_arm(
    name: str, arm: str, seed: int, folder: Path, budget: int, data: tuple, train: Path
) -> ArmResult:
    estimator, _, space = WORKLOADS[name]
    pruned = arm == "tpe+pruning"
    spec = write_search(
        folder,
        name=f"{name}-{arm.replace('+', '-')}-{seed}",
        estimator=estimator,
        space=space,
        strategy="tpe" if pruned else "random",
        # The baseline spends its budget in whole trials; the pruned arm stops at the budget.
        max_trials=budget * 4 if pruned else budget // CV,
        dataset=f"file:{train}",
        target="target",
        cv=CV,
        seed=seed,
        search_extra={"pruning": PRUNING, "parallelism": NODES} if pruned else None,
    )
    counter = FoldCounter()
    run = run_search_sync(
        spec, folder, nodes=NODES, slots=1, also=counter, until=lambda: counter.fold_fits >= budget
    )
    ledger = run.scheduler.ledger
    best = ledger.best
    if best is None:
        raise RuntimeError(f"{name} {arm} seed {seed}: no trial scored")
    holdout = _holdout(estimator, {**spec.model.fixed, **best.params}, seed, data)
    configs = sum(1 for trial in ledger.trials.values() if trial.folds_done > 0)
    return ArmResult(configs, float(best.score), holdout, run.wall_s, counter)


def run(quick: bool = False) -> list[list[str]]:
    budget, seeds = (QUICK_BUDGET, QUICK_SEEDS) if quick else (BUDGET_FOLD_FITS, SEEDS)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="hpo-bench-prune-") as tmp:
        folder = Path(tmp)
        for name in list(WORKLOADS)[:1] if quick else WORKLOADS:  # --quick: a smoke run
            say(f"-- {name}: {budget} fold fits, {CV}-fold CV, {NODES} nodes, {seeds} seed(s)")
            results: list[tuple[ArmResult, ArmResult]] = []
            for seed in range(seeds):
                train, *data = _split(WORKLOADS[name][1], seed, folder)
                base = run_arm(name, "random", seed, folder, budget, tuple(data), train)
                pruned = run_arm(name, "tpe+pruning", seed, folder, budget, tuple(data), train)
                results.append((base, pruned))
                reach = pruned.counter.time_to(base.best_cv)
                say(
                    f"seed {seed}: configs {base.configs} -> {pruned.configs}, best CV "
                    f"{base.best_cv:.4f} -> {pruned.best_cv:.4f}, holdout {base.holdout:.4f} -> "
                    f"{pruned.holdout:.4f}, reached the baseline's best in "
                    + (f"{reach / base.wall_s:.2f}x its wall" if reach is not None else "never")
                )
            rows += _summary(name, results)
    return rows


def _summary(name: str, results: list[tuple[ArmResult, ArmResult]]) -> list[list[str]]:
    explored = median([p.configs / b.configs for b, p in results])
    at_least = sum(p.best_cv >= b.best_cv - 1e-12 for b, p in results)
    # "Within 0.5 point" of the baseline: how far the pruned arm's holdout falls short at worst
    # (a pruned arm that generalises better is not a miss).
    holdout_gap = max(max(b.holdout - p.holdout, 0.0) for b, p in results) * 100
    reaches = [p.counter.time_to(b.best_cv) for b, p in results]
    shares = [r / b.wall_s for r, (b, _) in zip(reaches, results, strict=True) if r is not None]
    reach = f"{median(shares):.2f}x" if shares else "never"
    n = len(results)
    return [
        [f"{name}: configs explored", f"{explored:.2f}x random", ">= 1.8x",
         "met" if explored >= 1.8 else "MISSED"],
        [f"{name}: best CV >= random", f"{at_least} of {n} seeds", f">= {max(1, n - 1)} of {n}",
         "met" if at_least >= max(1, n - 1) else "MISSED"],
        [f"{name}: holdout below random", f"{holdout_gap:.2f} points (worst)", "<= 0.5",
         "met" if holdout_gap <= 0.5 else "MISSED"],
        [f"{name}: time to random's best", f"{reach} of its wall ({len(shares)}/{n})", "<= 0.6x",
         "met" if shares and len(shares) == n and median(shares) <= 0.6 else "MISSED"],
    ]  # fmt: skip


def main(quick: bool = False) -> None:
    rows = run(quick)
    say(format_table(["end to end", "result", "goal", ""], rows))


if __name__ == "__main__":
    import sys

    main("--quick" in sys.argv)
