"""Search spaces and the strategies that walk them (grid, random); no UI imports."""

from console.search.base import STRATEGY_NAMES, Strategy, make_strategy, space_errors
from console.search.space import ChoiceParam, FloatParam, IntParam, Param, parse_space

__all__ = [
    "STRATEGY_NAMES",
    "ChoiceParam",
    "FloatParam",
    "IntParam",
    "Param",
    "Strategy",
    "make_strategy",
    "parse_space",
    "space_errors",
]
