"""Random search: independent seeded draws from each parameter's range or choices."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from console.search.fixed_plan import FixedPlan
from console.search.space import (
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    grid_size,
    grid_value,
    is_active,
)

if TYPE_CHECKING:
    from console.records import TrialRecord


class RandomStrategy(FixedPlan):
    """Draws `max_trials` points; parameters are drawn in file order from one Random(seed).

    Trial k gets the k-th draw: asking out of order replays the draws from the seed, so the
    params of a trial never depend on what was told. Draws are independent, so a small discrete
    space can repeat a combination.
    """

    name = "random"

    def __init__(self, space: dict[str, Param], seed: int, max_trials: int) -> None:
        if max_trials <= 0:
            raise ValueError(f"max_trials must be positive, got {max_trials}")
        self._space = dict(space)
        self._seed = seed
        self._rng = random.Random(seed)
        self._total = max_trials
        self._drawn = 0  # draws taken from _rng so far

    def ask(self, trial_id: int) -> dict[str, Any] | None:
        if not 0 <= trial_id < self._total:
            return None
        if trial_id < self._drawn:  # asked again or out of order: replay from the seed
            self._rng, self._drawn = random.Random(self._seed), 0
        while self._drawn < trial_id:
            self._draw()
        return self._draw()

    def _draw(self) -> dict[str, Any]:
        self._drawn += 1
        point: dict[str, Any] = {}
        for name, param in self._space.items():
            # An inactive parameter takes no draw (without conditions: the same draws as ever).
            if is_active(param, point):
                point[name] = sample(param, self._rng)
        return point

    def restore(self, records: Sequence[TrialRecord]) -> None:
        """Nothing to rebuild: trial k's draw follows from the seed."""

    def planned_total(self) -> int:
        return self._total


def sample(param: Param, rng: random.Random) -> Any:
    """One draw of `param`: uniform (log-uniform when log) over its range, snapped to its step."""
    if isinstance(param, ChoiceParam):
        return param.values[rng.randrange(len(param.values))]
    if param.step is not None and not param.log:
        # Every grid point equally likely (snapping a uniform draw would halve the two ends).
        return grid_value(param, rng.randrange(grid_size(param)))
    value = _draw_int(param, rng) if isinstance(param, IntParam) else _draw_float(param, rng)
    if param.step is not None:
        return _snap(param, value)
    return value


def _draw_float(param: FloatParam | IntParam, rng: random.Random) -> float:
    if param.log:
        value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
    else:
        value = rng.uniform(param.low, param.high)
    # exp(log(x)) can land a hair outside the bounds.
    return min(max(value, float(param.low)), float(param.high))


def _draw_int(param: IntParam, rng: random.Random) -> int:
    if not param.log:
        return rng.randint(param.low, param.high)
    # Log-uniform over [low, high + 1) floored: P(k) is proportional to log((k + 1) / k).
    value = math.exp(rng.uniform(math.log(param.low), math.log(param.high + 1)))
    return min(max(math.floor(value), param.low), param.high)


def _snap(param: FloatParam | IntParam, value: float) -> float | int:
    """The grid point low + k*step nearest to value, kept within [low, high]."""
    step = param.step or 1
    index = round((value - param.low) / step)
    index = min(max(index, 0), grid_size(param) - 1)
    return grid_value(param, index)
