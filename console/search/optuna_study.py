"""One in-memory Optuna study per search: our space as Optuna distributions, scheduler trial ids
mapped to Optuna trials, pruning, and rebuilding the study from a checkpoint's records.

The console is Optuna's only client (nodes never import it). Our leases decide liveness: a trial
stays RUNNING in the study while the scheduler requeues it (what constant liar expects) and is
told only once the ledger makes it final.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from console.search import objectives as objective_rules
from console.search import sampler_state
from console.search.pruning import PruningSpec
from console.search.random_search import _snap
from console.search.space import ChoiceParam, IntParam, Param, is_active

if TYPE_CHECKING:
    from console.records import TrialRecord
    from console.search.base import Strategy

# Optuna logs every trial at INFO and warns that constant liar etc. are experimental; in the
# console that is noise (and would land on the TUI's screen): warnings only, into our log files.
optuna.logging.set_verbosity(optuna.logging.WARNING)
optuna.logging.disable_default_handler()
optuna.logging.enable_propagation()
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
log = logging.getLogger(__name__)

ParamKey = tuple[tuple[str, str, Any], ...]
Told = float | list[float]  # what a study is told: one value, or one per objective


def distribution(param: Param) -> BaseDistribution:
    """Our parameter as an Optuna distribution. A choice is categorical over value *indices*:
    Optuna matches choices with ==, which would confuse 1, 1.0 and True. Optuna allows no step
    on a log scale, so log+step is searched log-continuously and snapped (see `suggest`)."""
    if isinstance(param, ChoiceParam):
        return CategoricalDistribution(tuple(range(len(param.values))))
    step = None if param.log else param.step
    if isinstance(param, IntParam):
        return IntDistribution(param.low, param.high, log=param.log, step=step or 1)
    return FloatDistribution(param.low, param.high, log=param.log, step=step)


def external(param: Param, value: Any) -> Any:
    """An Optuna value (index, or number) as the plain value a node is sent."""
    if isinstance(param, ChoiceParam):
        return param.values[int(value)]
    if param.step is not None:
        # Onto our exact grid (Decimal: 0.3, not Optuna's 0.30000000000000004); log+step too.
        return _snap(param, value)
    return int(value) if isinstance(param, IntParam) else float(value)


def internal(param: Param, value: Any) -> Any:
    """Inverse of `external`; ValueError if `value` is not in the space."""
    if isinstance(param, ChoiceParam):
        for index, choice in enumerate(param.values):
            if type(choice) is type(value) and choice == value:
                return index
        raise ValueError(f"{value!r} is not one of {param.values}")
    if not param.low <= value <= param.high:
        raise ValueError(f"{value!r} is outside [{param.low}, {param.high}]")
    return value


def param_key(params: dict[str, Any]) -> ParamKey:
    """Identity of a parameter set, telling 1, 1.0 and True apart."""
    return tuple((name, type(value).__name__, value) for name, value in params.items())


def build_pruner(spec: PruningSpec) -> optuna.pruners.BasePruner:
    """Our pruning settings as an Optuna pruner (NopPruner when off)."""
    startup, warmup = spec.min_trials, spec.min_folds
    if spec.pruner == "median":
        # The margin: prune only below the `percentile`-th running mean (25 by default), not
        # below the median: a trial that is merely average at fold 2 keeps going.
        # Optuna's percentile is the share of trials *kept* (the top ones), ours the share pruned.
        return optuna.pruners.PercentilePruner(
            100.0 - spec.percentile, n_startup_trials=startup, n_warmup_steps=warmup
        )
    if spec.pruner == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=spec.p_threshold, n_startup_steps=warmup)
    if spec.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, warmup))
    return optuna.pruners.NopPruner()


class StudyBridge:
    """The study, and which Optuna trial runs each scheduler trial. With `objectives` the study
    is multi-objective: a trial is told one value per objective, from its `metrics`."""

    def __init__(
        self,
        space: dict[str, Param],
        sampler: optuna.samplers.BaseSampler,
        pruning: PruningSpec,
        objectives: Sequence[str] = (),
        metric: str = "",
    ) -> None:
        self.space = dict(space)
        self.pruning = pruning
        self.objectives, self.metric = tuple(objectives), metric  # metric: the ranked one
        self.distributions = {name: distribution(param) for name, param in space.items()}
        with warnings.catch_warnings():  # WilcoxonPruner is "experimental": noise here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study = optuna.create_study(
                storage=optuna.storages.InMemoryStorage(),
                sampler=sampler,
                pruner=build_pruner(pruning),
                # scikit-learn scorers: greater is better; fit time: less is better
                directions=objective_rules.directions(self.objectives) or ["maximize"],
            )
        self.running: dict[int, optuna.Trial] = {}  # scheduler trial id -> its Optuna trial
        self.params: dict[int, dict[str, Any]] = {}  # scheduler trial id -> its params
        self.taken: dict[ParamKey, int] = {}  # params finished or running -> scheduler trial id
        self.told: dict[ParamKey, Told] = {}  # params that scored -> what the study was told
        self.attrs: dict[int, dict[str, str]] = {}  # scheduler trial id -> its saved state

    def value_of(self, score: float | None, metrics: Mapping[str, float] | None) -> Told | None:
        """What to tell for a scored trial: its score, or each objective's value (None when one
        was not measured: the trial is then told as failed)."""
        if not self.objectives:
            return score
        try:
            return objective_rules.values_of(self.objectives, metrics)
        except KeyError as exc:
            log.warning("objective %s not measured: the trial counts as failed", exc)
            return None

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Define-by-run, one param at a time in file order; a conditional param is suggested
        only when the values suggested before it make it active (`when`)."""
        point: dict[str, Any] = {}
        for name, param in self.space.items():
            if is_active(param, point):
                point[name] = external(param, self._suggest_one(trial, name))
        return point

    def _suggest_one(self, trial: optuna.Trial, name: str) -> Any:
        dist = self.distributions[name]
        if isinstance(dist, CategoricalDistribution):
            return trial.suggest_categorical(name, dist.choices)
        if isinstance(dist, IntDistribution):
            return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        assert isinstance(dist, FloatDistribution)
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)

    def adopt(self, trial_id: int, trial: optuna.Trial, params: dict[str, Any]) -> None:
        self.running[trial_id], self.params[trial_id] = trial, params
        self.taken[param_key(params)] = trial_id

    def register(self, trial_id: int, params: dict[str, Any]) -> None:
        """Run `params` (chosen elsewhere: grid, random, a restored pending trial) as a RUNNING
        trial of the study, so the sampler and the pruner account for it."""
        self.study.enqueue_trial(
            {name: internal(self.space[name], v) for name, v in params.items()}
        )
        trial = self.study.ask()
        self.suggest(trial)  # takes the enqueued values
        self.adopt(trial_id, trial, params)

    def report(self, trial_id: int, folds_done: int, running_mean: float) -> bool:
        if not self.pruning.enabled:
            return False
        trial = self.running.get(trial_id)
        if trial is None:
            if trial_id not in self.params:
                return False
            self.register(trial_id, self.params[trial_id])  # a retried trial runs afresh
            trial = self.running[trial_id]
        trial.report(running_mean, step=folds_done)
        return trial.should_prune()

    def finish(
        self,
        trial_id: int,
        status: str,
        score: float | None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        trial = self.running.pop(trial_id, None)
        params = self.params.get(trial_id)
        if trial is None:
            if params is None:
                return  # never asked through us (cannot happen in the scheduler)
            self.register(trial_id, params)  # told again after a retry: a fresh Optuna trial
            trial = self.running.pop(trial_id)
        told = self.value_of(score, metrics) if status == "ok" and score is not None else None
        if told is not None:
            frozen = self.study.tell(trial, told)
            if params is not None:
                self.told[param_key(params)] = told
        else:
            state = TrialState.PRUNED if status == "pruned" else TrialState.FAIL
            frozen = self.study.tell(trial, state=state)
            if params is not None:
                # A failed or pruned point may be suggested again (a retry is the operator's).
                self.taken.pop(param_key(params), None)
        # What the sampler keeps on the trial (CMA-ES, NSGA-II), for the checkpoint.
        self.attrs[trial_id] = sampler_state.encode(frozen.system_attrs)

    def restore(self, records: Sequence[TrialRecord]) -> None:
        """Completed, pruned and failed trials become finished trials of the study (with their
        running fold means as intermediate values); pending ones run again, as RUNNING."""
        finished = []
        for record in sorted(records, key=lambda r: r.id):
            try:
                inner = {n: internal(self.space[n], v) for n, v in record.params.items()}
            except (KeyError, ValueError) as exc:
                log.warning("trial %d not restored into the study: %s", record.id, exc)
                continue
            self.params[record.id] = dict(record.params)
            status = str(record.status)
            if status == "pending":
                self.register(record.id, dict(record.params))
                continue
            means = _running_means(record.fold_scores)
            measured = objective_rules.measures(
                record.score, record.metric_means(), record.duration_s, self.metric
            )
            told = self.value_of(record.score, measured) if status == "ok" else None
            state = TrialState.COMPLETE if told is not None else TrialState.FAIL
            if status == "pruned":
                state = TrialState.PRUNED
            # The sampler's own state (CMA-ES's optimizer, generations) goes back on the trial.
            finished.append(
                optuna.trial.create_trial(
                    state=state,
                    values=None if told is None else (told if isinstance(told, list) else [told]),
                    params=inner,
                    distributions={name: self.distributions[name] for name in inner},
                    intermediate_values=means if state != TrialState.FAIL else None,
                    system_attrs=sampler_state.decode(record.sampler_attrs),
                )
            )
            if told is not None:
                self.taken[param_key(dict(record.params))] = record.id
                self.told[param_key(dict(record.params))] = told
        self.study.add_trials(finished)


def _running_means(fold_scores: Sequence[float]) -> dict[int, float]:
    """Step k (1-based fold count) -> the mean of the first k folds: what should_prune saw."""
    means, total = {}, 0.0
    for k, score in enumerate(fold_scores, start=1):
        total += score
        means[k] = total / k
    return means


class WithPruning:
    """Grid or random with pruning: their own points, plus a study that only the pruner uses."""

    def __init__(self, inner: Strategy, space: dict[str, Param], seed: int, pruning: PruningSpec):
        self.inner = inner
        self.name = inner.name
        self.bridge = StudyBridge(space, optuna.samplers.RandomSampler(seed=seed), pruning)

    def ask(self, trial_id: int) -> dict[str, Any] | None:
        params = self.inner.ask(trial_id)
        if params is not None:
            self.bridge.register(trial_id, params)
        return params

    def tell(
        self,
        trial_id: int,
        status: str,
        score: float | None,
        *,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        self.inner.tell(trial_id, status, score, metrics=metrics)
        self.bridge.finish(trial_id, status, score)

    def sampler_attrs(self, trial_id: int) -> dict[str, str]:
        return {}  # a random sampler for the pruner: no state worth saving

    def should_prune(self, trial_id: int, folds_done: int, running_mean: float) -> bool:
        return self.bridge.report(trial_id, folds_done, running_mean)

    def planned_total(self) -> int:
        return self.inner.planned_total()

    def restore(self, records: Sequence[TrialRecord]) -> None:
        self.inner.restore(records)
        self.bridge.restore(records)
