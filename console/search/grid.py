"""Grid search: every combination of discrete parameter values, in a fixed order."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from console.search.fixed_plan import FixedPlan
from console.search.space import (
    FloatParam,
    Param,
    controllers,
    grid_size,
    grid_value,
    is_active,
)

if TYPE_CHECKING:
    from console.records import TrialRecord


def space_errors(space: dict[str, Param], where: str = "space") -> list[str]:
    """Parameters a grid cannot enumerate: floats without step, and any log scale."""
    errors = []
    for name, param in space.items():
        if isinstance(param, FloatParam) and param.step is None:
            errors.append(f'{where}.{name}: grid needs `step` or `type = "choice"`')
        elif getattr(param, "log", False):
            # A log scale has no single obvious set of grid points, so ask for them explicitly.
            errors.append(
                f"{where}.{name}.log: grid does not support log = true; "
                f'list the values with type = "choice" (e.g. values = [0.01, 0.1, 1, 10])'
            )
    return errors


class GridStrategy(FixedPlan):
    """Walks the product of all parameter values; the last parameter in file order varies fastest.

    Trial k is computed from k directly (mixed-radix digits), so nothing is materialised and a
    grid of billions of points costs no memory. With conditional parameters the grid is a list
    of blocks, one per combination of the parameters conditions depend on (few); a parameter
    inactive in a block is left out of its points, so no point is run twice.
    """

    name = "grid"

    def __init__(self, space: dict[str, Param], max_trials: int | None = None) -> None:
        problems = space_errors(space)
        if problems:
            raise ValueError("; ".join(problems))
        self._names = list(space)
        self._params = [space[name] for name in self._names]
        self._sizes = [grid_size(param) for param in self._params]
        self._blocks = _blocks(space)
        full = self._blocks[-1][0] if self._blocks else math.prod(self._sizes)
        self._total = full if max_trials is None else min(full, max_trials)

    def ask(self, trial_id: int) -> dict[str, Any] | None:
        """Trial k is grid point k, however often or in whatever order it is asked."""
        return self.params_at(trial_id) if 0 <= trial_id < self._total else None

    def restore(self, records: Sequence[TrialRecord]) -> None:
        """Nothing to rebuild: every point follows from its trial id."""

    def planned_total(self) -> int:
        return self._total

    def params_at(self, index: int) -> dict[str, Any]:
        """The parameters of the index-th grid point (0-based)."""
        if self._blocks:
            return self._conditional_at(index)
        digits: list[int] = []
        for size in reversed(self._sizes):
            index, digit = divmod(index, size)
            digits.append(digit)
        digits.reverse()
        return {
            name: grid_value(param, digit)
            for name, param, digit in zip(self._names, self._params, digits, strict=True)
        }

    def _conditional_at(self, index: int) -> dict[str, Any]:
        ends = [end for end, _, _ in self._blocks]
        block = bisect.bisect_right(ends, index)
        _, fixed, free = self._blocks[block]
        start = ends[block - 1] if block else 0
        point = dict(fixed)
        offset = index - start
        values: dict[str, Any] = {}
        for name in reversed(free):
            param = self._params[self._names.index(name)]
            offset, digit = divmod(offset, grid_size(param))
            values[name] = grid_value(param, digit)
        point.update(values)
        return {name: point[name] for name in self._names if name in point}


def _blocks(space: dict[str, Param]) -> list[tuple[int, dict[str, Any], list[str]]]:
    """(cumulative end, controller values, active other params) per distinct controller
    combination; [] when nothing is conditional."""
    driving = controllers(space)
    if not driving:
        return []
    blocks: list[tuple[int, dict[str, Any], list[str]]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    end = 0
    ranges = [range(grid_size(space[name])) for name in driving]
    for digits in itertools.product(*ranges):
        point: dict[str, Any] = {}
        for name, param in space.items():  # file order: a condition sees the values above it
            if name in driving and is_active(param, point):
                point[name] = grid_value(param, digits[driving.index(name)])
        key = tuple(point.items())
        if key in seen:  # an inactive controller's other values repeat the same block
            continue
        seen.add(key)
        free = [n for n, p in space.items() if n not in driving and is_active(p, point)]
        end += math.prod(grid_size(space[name]) for name in free)
        blocks.append((end, point, free))
    return blocks
