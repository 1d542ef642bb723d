"""Model-based strategies (tpe, qmc, cmaes, nsga2; gp refused without PyTorch) through Optuna's
ask-and-tell, with no parameter set dispatched twice and the study rebuilt on resume."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from console.search.optuna_study import StudyBridge, param_key
from console.search.pruning import PruningSpec
from console.search.random_search import sample
from console.search.space import FloatParam, IntParam, Param, grid_size, grid_value

if TYPE_CHECKING:
    from console.records import TrialRecord

# Parallel samplers do suggest points already running or finished (constant liar lowers the odds,
# it does not remove them): re-ask a few times (a converged TPE keeps proposing the same point,
# and each ask costs ~20 ms at 1,000 trials), then fall back to seeded random draws.
MAX_REASKS = 3
MIN_STARTUP_TRIALS = 10  # Optuna's TPE default; raised to the number of slots
# NSGA-II's population: Optuna's default of 50 leaves a 100-trial search two generations; 20 is
# the usual size for small budgets, raised to the slots so one generation fills the fleet.
MIN_POPULATION = 20
# Their generations count completed trials (CMA-ES tells the optimizer a generation's points,
# NSGA-II fills a population): a repeat retired as COMPLETE would count, yet it is no trial of
# ours and is not saved, so a resumed search would count differently. They retire it as FAIL
# (neither learns from failures; TPE does learn from the repeated value, so it keeps it).
KEEPS_STATE_ON_TRIALS = ("cmaes", "nsga2")
SCAN_LIMIT = 100_000  # a discrete space up to this size is scanned for a point not yet taken


def build(
    name: str,
    space: dict[str, Param],
    seed: int,
    max_trials: int,
    *,
    slots: int = 1,
    pruning: PruningSpec | None = None,
    objectives: Sequence[str] = (),
    metric: str = "",
) -> OptunaStrategy:
    """The named model-based strategy; ValueError naming what is missing or unsupported."""
    from console.search.base import strategy_problem

    problem = strategy_problem(name)
    if problem:
        raise ValueError(problem)
    return OptunaStrategy(
        name, space, seed, max_trials, slots=slots, pruning=pruning,
        objectives=objectives, metric=metric,
    )  # fmt: skip


def make_sampler(
    name: str, space: dict[str, Param], seed: int, slots: int
) -> optuna.samplers.BaseSampler:
    """A fresh, seeded sampler. On resume the seed is offset, so it draws new points."""
    with warnings.catch_warnings():  # QMC and CMA-ES's margin are "experimental": noise here
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _sampler(name, space, seed, slots)


def _sampler(
    name: str, space: dict[str, Param], seed: int, slots: int
) -> optuna.samplers.BaseSampler:
    startup = max(MIN_STARTUP_TRIALS, slots)
    if name == "tpe":
        # With many workers TPE's 10 startup trials are too few (it models its own lies).
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True
        )
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)
    if name == "cmaes":
        has_int = any(isinstance(p, IntParam) for p in space.values())
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=startup, with_margin=has_int,
            warn_independent_sampling=False,
        )  # fmt: skip
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=max(MIN_POPULATION, slots), seed=seed)
    raise ValueError(f"no Optuna sampler for strategy {name!r}")


class OptunaStrategy:
    """A Strategy over an Optuna sampler; `duplicates` counts suggestions that were re-asked."""

    def __init__(
        self,
        name: str,
        space: dict[str, Param],
        seed: int,
        max_trials: int,
        *,
        slots: int = 1,
        pruning: PruningSpec | None = None,
        objectives: Sequence[str] = (),
        metric: str = "",
    ) -> None:
        self.name = name
        self._space, self._seed, self._slots = dict(space), seed, slots
        self._objectives, self._metric = tuple(objectives), metric
        self._pruning = pruning or PruningSpec()
        self._total = max_trials
        self._rng = random.Random(seed)  # the fallback when the sampler keeps repeating itself
        self.duplicates = 0
        self.bridge = self._new_bridge(seed)

    def _new_bridge(self, seed: int) -> StudyBridge:
        sampler = make_sampler(self.name, self._space, seed, self._slots)
        return StudyBridge(self._space, sampler, self._pruning, self._objectives, self._metric)

    def ask(self, trial_id: int) -> dict[str, Any] | None:
        if not 0 <= trial_id < self._total:
            return None
        bridge = self.bridge
        if trial_id in bridge.running:  # asked again for a trial it already proposed
            return dict(bridge.params[trial_id])
        for _ in range(MAX_REASKS):
            trial = bridge.study.ask()
            params = bridge.suggest(trial)
            if param_key(params) not in bridge.taken:
                bridge.adopt(trial_id, trial, params)
                return params
            self.duplicates += 1
            self._retire_duplicate(trial, params)
        for params in self._fallbacks():
            if param_key(params) not in bridge.taken:
                bridge.register(trial_id, params)
                return params
        return None  # a small discrete space with every point taken: the search is over

    def _fallbacks(self) -> Iterator[dict[str, Any]]:
        """Seeded random draws, then (a discrete space) every point from a random offset."""
        for _ in range(MAX_REASKS):
            yield {name: sample(param, self._rng) for name, param in self._space.items()}
        params = list(self._space.values())
        if any(isinstance(p, FloatParam) and p.step is None for p in params):
            return  # a continuous space: random draws do not collide in practice
        sizes = [grid_size(p) for p in params]
        total = math.prod(sizes)
        if total > SCAN_LIMIT:
            return
        start = self._rng.randrange(total)
        for offset in range(total):
            index, values = (start + offset) % total, []
            for size in reversed(sizes):
                index, digit = divmod(index, size)
                values.append(digit)
            values.reverse()
            yield {
                name: grid_value(p, d)
                for name, p, d in zip(self._space, params, values, strict=True)
            }

    def _retire_duplicate(self, trial: optuna.Trial, params: dict[str, Any]) -> None:
        """Finish a duplicate suggestion in the study: with what the finished trial it repeats
        was told (its score, or every objective's value: what Optuna's FAQ advises, the
        objective would return the same), as FAIL when that trial is still running."""
        key = param_key(params)
        told = self.bridge.told.get(key)
        if self.name in KEEPS_STATE_ON_TRIALS:
            told = None  # see KEEPS_STATE_ON_TRIALS
        if self.bridge.taken[key] not in self.bridge.running and told is not None:
            self.bridge.study.tell(trial, told)
        else:
            self.bridge.study.tell(trial, state=TrialState.FAIL)

    def tell(
        self,
        trial_id: int,
        status: str,
        score: float | None,
        *,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        self.bridge.finish(trial_id, status, score, metrics)

    def sampler_attrs(self, trial_id: int) -> dict[str, str]:
        return self.bridge.attrs.get(trial_id, {})

    def should_prune(self, trial_id: int, folds_done: int, running_mean: float) -> bool:
        return self.bridge.report(trial_id, folds_done, running_mean)

    def planned_total(self) -> int:
        return self._total

    def restore(self, records: Sequence[TrialRecord]) -> None:
        """A new study with every saved trial in it, and a sampler seeded past the first run's
        (seed + trials restored), so it neither replays the first points nor forgets them.
        Each trial gets back the state the sampler kept on it (CMA-ES's optimizer: mean,
        sigma, covariance, generation; NSGA-II's generation), so both go on where they were."""
        self._rng = random.Random(self._seed + len(records))
        self.bridge = self._new_bridge(self._seed + len(records))
        self.bridge.restore(records)
