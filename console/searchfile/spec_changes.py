"""What differs between a checkpoint's spec and an edited one, and whether its results carry over.

Rules (the README has them as a table):

- [cluster], [export], name, trial_timeout_s, max_attempts, parallelism: not part of the
  results; free.
- max_trials: the budget. Raising (or lowering to no fewer than the trials already created)
  keeps every trial; random's trial k is still the k-th draw, grid's trial k grid point k.
- a [space] parameter's range, values, step, log or the order of parameters: kept, provided every
  finished trial lies inside the new space (else refused, naming the parameter). A grid's trials
  are renumbered to their place in the new grid, so the points not yet run are exactly the ids
  left; random (and other strategies) keep their ids and draw new trials from the new space.
- anything else config_hash covers (strategy, seed, metric, cv, dataset, model, a parameter
  added to or removed from [space]): what a score means changed; refused, naming the keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from console.search.space import ChoiceParam, Param
from console.searchfile.toml_io import SearchSpec

BUDGET_KEY = "max_trials"
GRID_INDEX_LIMIT = 1_000_000  # renumbering walks the new grid once; bigger grids are refused


@dataclass(frozen=True)
class SpecChanges:
    budget: tuple[int | None, int | None] | None = None  # (old, new) max_trials
    space: list[str] = field(default_factory=list)  # 'space.C [0.1, 1] -> [0.01, 10]', ...
    refused: list[str] = field(default_factory=list)  # 'search.metric: accuracy -> f1', ...

    @property
    def any(self) -> bool:
        return bool(self.budget or self.space or self.refused)


def compare(old: SearchSpec, new: SearchSpec) -> SpecChanges:
    """Classify every difference between `old` (the checkpoint's) and `new` that the config
    hash covers. Keys another part of the spec adds to config_canonical() are refused by
    default: a new key is assumed to change what a score means."""
    before, after = old.config_canonical(), new.config_canonical()
    refused: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key in (BUDGET_KEY, "space", "parallelism"):  # parallelism: a scheduling hint only
            continue
        for dotted, was, now in _differences(key, before.get(key), after.get(key)):
            refused.append(f"{_display(dotted)}: {_show(was)} -> {_show(now)}")
    space, space_refused = _space_changes(old.space, new.space)
    budget = None
    if old.max_trials != new.max_trials:
        budget = (old.max_trials, new.max_trials)
    return SpecChanges(budget, space, refused + space_refused)


def _differences(key: str, was: Any, now: Any) -> list[tuple[str, Any, Any]]:
    if isinstance(was, dict) and isinstance(now, dict):
        found = []
        for sub in sorted(set(was) | set(now)):
            found += _differences(f"{key}.{sub}", was.get(sub), now.get(sub))
        return found
    return [] if _same(was, now) else [(key, was, now)]


def _display(key: str) -> str:
    """The dotted key as the search file spells it ([search] keys sit at the canonical top)."""
    table = key.split(".", 1)[0]
    return key if table in ("dataset", "model", "space") else f"search.{key}"


def _space_changes(old: dict[str, Param], new: dict[str, Param]) -> tuple[list[str], list[str]]:
    changed, refused = [], []
    for name in old:
        if name not in new:
            refused.append(f"space.{name}: removed (its trials ran with other values of it)")
        elif not _same(old[name].to_toml(), new[name].to_toml()):
            changed.append(f"space.{name} {_param(old[name])} -> {_param(new[name])}")
    for name in new:
        if name not in old:
            refused.append(f"space.{name}: added (the trials so far ran with its default)")
    if not refused and not changed and list(old) != list(new):
        changed.append(f"space order {', '.join(old)} -> {', '.join(new)}")
    return changed, refused


def _param(param: Param) -> str:
    if isinstance(param, ChoiceParam):
        return _show(list(param.values))
    step = f" step {param.step}" if param.step is not None else ""
    return f"[{param.low}, {param.high}]{step}{' log' if param.log else ''}"


def _same(a: Any, b: Any) -> bool:
    # JSON keeps True apart from 1 and 1 apart from 1.0, as the config hash does.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _show(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value)


def params_key(params: dict[str, Any]) -> str:
    """A trial's params as one comparable string (types kept: True is not 1)."""
    return json.dumps(params, sort_keys=True)


def inside(space: dict[str, Param], params: dict[str, Any]) -> bool:
    """Whether `params` is a point of `space` (a space parameter a trial lacks, as a
    conditional one that was inactive, is not held against it)."""
    if any(name not in space for name in params):
        return False
    return all(_in_param(space[name], value) for name, value in params.items())


def _in_param(param: Param, value: Any) -> bool:
    if isinstance(param, ChoiceParam):
        return any(_same(value, choice) for choice in param.values)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if not param.low <= value <= param.high:
        return False
    if param.step is None:
        return True
    steps = (value - param.low) / param.step
    return abs(steps - round(steps)) < 1e-9 * max(1.0, abs(steps))
