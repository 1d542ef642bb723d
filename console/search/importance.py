"""Which hyperparameters matter: Optuna's PED-ANOVA importance over a search's scored trials.

PED-ANOVA, not Optuna's default fANOVA: fANOVA fits a random forest and took 0.7 s for 50 trials,
23 s for 500 and six minutes for 2,000 (4 parameters, this machine); PED-ANOVA took 14 ms, 20 ms
and 81 ms and ranked the parameters the same (given enough trials in its top group: TOP_GROUP).
The console recomputes it as trials finish (console/view/importance_watch.py).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import optuna
from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

from console.search.optuna_study import distribution, internal
from console.search.space import Param

log = logging.getLogger(__name__)

MIN_TRIALS = 10  # below this, any ranking is noise
# PED-ANOVA compares the best `target_quantile` of the trials with all of them. Optuna's 0.1 is
# four trials out of 40, and then a parameter that decides the score can rank last; keeping at
# least TOP_GROUP trials in the top group ranked it first in every run at 40 trials.
TOP_GROUP = 10


class ImportanceUnavailable(Exception):
    """Why no importance can be given (too few trials, nothing varies)."""


def param_importances(
    scored: Iterable[tuple[Mapping[str, Any], float]], space: Mapping[str, Param]
) -> list[tuple[str, float]]:
    """(parameter, importance) for `scored` = (params, score) pairs, most important first; the
    importances sum to 1. A conditional parameter counts only if every trial has it (Optuna's
    rule: importance is over the space all the trials share)."""
    distributions = {name: distribution(param) for name, param in space.items()}
    trials = []
    for params, score in scored:
        values, dists = {}, {}
        for name, value in params.items():
            param = space.get(name)
            if param is None:
                continue
            try:
                values[name] = internal(param, value)
            except ValueError:  # a value outside today's space (an extended search's older run)
                continue
            dists[name] = distributions[name]
        trials.append(optuna.trial.create_trial(params=values, distributions=dists, value=score))
    if len(trials) < MIN_TRIALS:
        raise ImportanceUnavailable(f"after {MIN_TRIALS} scored trials ({len(trials)} so far)")
    if len({t.value for t in trials}) == 1:
        raise ImportanceUnavailable("every scored trial has the same score")
    shared = set.intersection(*(set(t.params) for t in trials))
    varied = [n for n in shared if len({t.params[n] for t in trials}) > 1]
    if not varied:
        raise ImportanceUnavailable("no parameter varies across the scored trials")
    study = optuna.create_study(direction="maximize")
    study.add_trials(trials)
    quantile = min(0.5, max(0.1, TOP_GROUP / len(trials)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA is "experimental": noise, not news
        evaluator = PedAnovaImportanceEvaluator(target_quantile=quantile)
        ranked = get_param_importances(study, evaluator=evaluator, params=varied, normalize=True)
    return sorted(((name, float(value)) for name, value in ranked.items()), key=_rank)


def _rank(item: tuple[str, float]) -> tuple[float, str]:
    return (-item[1], item[0])
