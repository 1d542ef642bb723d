"""The Strategy interface every search strategy implements, and the factory that builds one.

Determinism contract: a strategy is a pure function of (space, seed, max_trials) plus the scores
it is told. The scheduler never saves a strategy's internals; to resume a search it builds a fresh
strategy, calls ``ask()`` once per trial already in the saved file (in trial-id order) to advance
it to the same point, then calls ``tell()`` for the trials that finished. So:

- ``ask()`` must return the same sequence for the same (space, seed, max_trials) in every process:
  draw from a private ``random.Random(seed)``, never the global ``random`` module, numpy's global
  state or the clock;
- an adaptive strategy may depend on ``tell()`` only through the scores it was given, and must
  accept ``tell()`` for trials in any order, including after they were asked in a replay;
- values are plain Python scalars (``float``, ``int``, ``str``, ``bool``, ``None``), never numpy
  types, so they encode to JSON and TOML unchanged.

The scheduler may compare replayed params with the saved ones to detect a changed library version.
"""

from __future__ import annotations

from typing import Any, Protocol

from console.search import grid, random_search
from console.search.space import Param

STRATEGY_NAMES = ("grid", "random")


class Strategy(Protocol):
    """Proposes trial parameters one at a time."""

    name: str

    def ask(self) -> dict[str, Any] | None:
        """The next trial's parameters (space names only), or None when the search is exhausted."""
        ...

    def tell(self, params: dict[str, Any], score: float | None) -> None:
        """Report a finished trial (score None when it failed); grid and random ignore it."""
        ...

    def planned_total(self) -> int:
        """How many trials this search will run in all."""
        ...


def space_errors(strategy: str, space: dict[str, Param], where: str = "space") -> list[str]:
    """What in `space` the named strategy cannot search, as 'dotted.key: message' strings."""
    if strategy == "grid":
        return grid.space_errors(space, where)
    return []


def make_strategy(
    name: str, space: dict[str, Param], seed: int, max_trials: int | None
) -> Strategy:
    """Build the strategy `name` over `space`; ValueError if the combination is invalid."""
    if name not in STRATEGY_NAMES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}")
    if max_trials is not None and max_trials <= 0:
        raise ValueError(f"max_trials must be positive, got {max_trials}")
    problems = space_errors(name, space)
    if problems:
        raise ValueError("; ".join(problems))
    if name == "grid":
        return grid.GridStrategy(space, max_trials)
    if max_trials is None:
        raise ValueError("the random strategy needs max_trials")
    return random_search.RandomStrategy(space, seed, max_trials)
