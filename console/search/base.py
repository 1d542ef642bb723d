"""The Strategy interface every search strategy implements, and the factory that builds one.

The scheduler talks to a strategy through six calls (the session contract):

- ``ask(trial_id)``: the params of scheduler trial ``trial_id`` (dense ids 0, 1, 2... in order),
  or None when the search is exhausted;
- ``tell(trial_id, status, score, *, metrics=None)``: status "ok", "pruned" or "failed", once
  the ledger makes the trial final (a requeued trial is never told: it is still running).
  `metrics` is what the trial measured, by name: each metric's mean and "fit_time" (seconds);
  a strategy with several objectives (objectives.py) takes its values from it, the others
  ignore it;
- ``sampler_attrs(trial_id)``: right after ``tell``, the sampler's state on that trial, as the
  strings a checkpoint row keeps (sampler_state.py); {} for most strategies;
- ``should_prune(trial_id, folds_done, running_mean)``: after each recorded fold (greater is
  better); False whenever pruning is off; reports the value to the pruner as a side effect;
- ``planned_total()``;
- ``restore(records)``: once, before the first ask, on resume, with every saved trial.

Grid and random stay pure functions of (space, seed, max_trials): trial k gets grid point k or
the k-th seeded draw, whatever was told. Model-based strategies (optuna_study.py) rebuild their
study from the records instead. Values are plain Python scalars (JSON- and TOML-ready).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from console.search import grid, random_search
from console.search import objectives as objective_rules
from console.search.pruning import PruningSpec
from console.search.space import ChoiceParam, Param

if TYPE_CHECKING:
    from console.records import TrialRecord

DEFAULT_STRATEGY = "tpe"  # for new searches that do not name one
MODEL_BASED = ("tpe", "qmc", "cmaes", "gp", "nsga2")
STRATEGY_NAMES = ("tpe", "random", "grid", "qmc", "cmaes", "gp", "nsga2")
STATUSES = ("ok", "pruned", "failed")
# What each strategy suits (budget, space types): the help screen and the README say the same.
STRATEGY_FIT = {
    "tpe": "the default: most searches from ~30 trials, many slots; any space",
    "random": "a baseline, very cheap trials or under ~20 trials; any space",
    "grid": "every combination of a few values; choices and stepped ranges",
    "qmc": "an even (Sobol) cover of the space, a first look; any space",
    "cmaes": "continuous spaces, 100+ trials; float and int ranges only",
    "gp": "small continuous budgets; needs PyTorch (the gp extra)",
    "nsga2": "several objectives (e.g. score and fit time), 100+ trials; any space",
}


class Strategy(Protocol):
    """Proposes trial parameters; see the module docstring for the call order."""

    name: str

    def ask(self, trial_id: int) -> dict[str, Any] | None: ...

    def tell(
        self,
        trial_id: int,
        status: str,
        score: float | None,
        *,
        metrics: Mapping[str, float] | None = None,
    ) -> None: ...

    def sampler_attrs(self, trial_id: int) -> dict[str, str]: ...

    def should_prune(self, trial_id: int, folds_done: int, running_mean: float) -> bool: ...

    def planned_total(self) -> int: ...

    def restore(self, records: Sequence[TrialRecord]) -> None: ...


def strategy_problem(name: str) -> str | None:
    """Why the named strategy cannot run in this installation (checked when the file is read)."""
    if name == "gp":
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return (
                'strategy "gp" needs PyTorch, which this installation does not have '
                '(pip install -e \'.[console,gp]\'); use "tpe", or "cmaes" for continuous spaces'
            )
    return None


def space_errors(strategy: str, space: dict[str, Param], where: str = "space") -> list[str]:
    """What in `space` the named strategy cannot search, as 'dotted.key: message' strings."""
    if strategy == "grid":
        return grid.space_errors(space, where)
    if strategy in ("cmaes", "gp"):
        # CMA-ES and GP model a continuous box; a choice has no order to move along.
        return [
            f'{where}.{name}: {strategy} searches float and int ranges only; use "tpe" for '
            f"choice parameters"
            for name, param in space.items()
            if isinstance(param, ChoiceParam)
        ]
    return []


def make_strategy(
    name: str,
    space: dict[str, Param],
    seed: int,
    max_trials: int | None,
    *,
    slots: int = 1,
    pruning: PruningSpec | None = None,
    objectives: Sequence[str] = (),
    metric: str = "accuracy",
) -> Strategy:
    """Build the strategy `name` over `space`; ValueError if the combination is invalid.

    `slots` is how many trials may run at once (model-based strategies start with at least that
    many independent draws); `pruning` turns on `should_prune`; `objectives` (two or more) make
    nsga2's and tpe's study multi-objective (`metric`, the ranked one, is what a saved
    trial's score measured).
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}")
    if max_trials is not None and max_trials <= 0:
        raise ValueError(f"max_trials must be positive, got {max_trials}")
    problems = space_errors(name, space)
    if problems:
        raise ValueError("; ".join(problems))
    pruning = pruning or PruningSpec()
    if objectives or name == "nsga2":
        # What the search file reader reports by key; here for callers that build directly.
        recorded = [n for n in objectives if n != objective_rules.FIT_TIME] or ["accuracy"]
        problems = objective_rules.objectives_errors(
            list(objectives) if objectives else None, name, recorded, pruning.enabled
        )
        if problems:
            raise ValueError("; ".join(problems))
    if name == "grid":
        inner: Any = grid.GridStrategy(space, max_trials)
    elif max_trials is None:
        raise ValueError(f"the {name} strategy needs max_trials")
    elif name == "random":
        inner = random_search.RandomStrategy(space, seed, max_trials)
    else:
        from console.search import model_based  # Optuna is imported only when it is used

        return model_based.build(
            name, space, seed, max_trials, slots=slots, pruning=pruning,
            objectives=objectives, metric=metric,
        )  # fmt: skip
    if not pruning.enabled:
        return inner
    from console.search.optuna_study import WithPruning

    return WithPruning(inner, space, seed, pruning)
