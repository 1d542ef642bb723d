"""Search-space parameters (float, int, choice): parsing, validation and discrete grid points.

A parameter may be conditional: `when = { kernel = ["rbf", "poly"] }` makes it exist only when
`kernel` (a choice defined earlier in the space) takes one of those values. Strategies walk the
space in file order and skip inactive parameters (`is_active`), which is also how a define-by-run
sampler would ask for them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

# TOML has no null, so None is spelled as this string wherever a parameter value can be None.
NONE_TOKEN = "None"

Scalar = str | int | float | bool | None
Condition = tuple[tuple[str, tuple[Scalar, ...]], ...]  # ((param, allowed values), ...)


def type_name(value: Any) -> str:
    """The TOML-ish name of a value's type, for error messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def describe(value: Any) -> str:
    """A value with its type, e.g. "string '5'", for 'expected X, got Y' messages."""
    if hasattr(value, "isoformat"):  # TOML dates and times
        return f"{type(value).__name__} {value.isoformat()}"
    return f"{type_name(value)} {value!r}"


def suggest(name: str, choices: list[str] | set[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def encode_none(value: Any) -> Any:
    """Replace None by NONE_TOKEN, recursing into lists and tables."""
    if value is None:
        return NONE_TOKEN
    if isinstance(value, list | tuple):
        return [encode_none(item) for item in value]
    if isinstance(value, dict):
        return {key: encode_none(item) for key, item in value.items()}
    return value


def decode_none(value: Any) -> Any:
    """Inverse of encode_none: NONE_TOKEN becomes None, recursing into lists and tables."""
    if isinstance(value, str) and value == NONE_TOKEN:
        return None
    if isinstance(value, list):
        return [decode_none(item) for item in value]
    if isinstance(value, dict):
        return {key: decode_none(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class FloatParam:
    """A real in [low, high]; log-uniform when `log`, on the grid low + k*step when `step`."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    when: Condition = ()

    def to_toml(self) -> dict[str, Any]:
        return _range_table("float", self.low, self.high, self.log, self.step) | _when(self)

    @property
    def condition(self) -> dict[str, tuple[Scalar, ...]]:
        return dict(self.when)


@dataclass(frozen=True)
class IntParam:
    """An integer in [low, high] (both inclusive); `log` and `step` as for FloatParam."""

    low: int
    high: int
    log: bool = False
    step: int | None = None
    when: Condition = ()

    def to_toml(self) -> dict[str, Any]:
        return _range_table("int", self.low, self.high, self.log, self.step) | _when(self)

    @property
    def condition(self) -> dict[str, tuple[Scalar, ...]]:
        return dict(self.when)


@dataclass(frozen=True)
class ChoiceParam:
    """One of a fixed list of scalar values (None allowed, written as "None")."""

    values: tuple[Scalar, ...]
    when: Condition = ()

    def to_toml(self) -> dict[str, Any]:
        return {"type": "choice", "values": encode_none(list(self.values))} | _when(self)

    @property
    def condition(self) -> dict[str, tuple[Scalar, ...]]:
        return dict(self.when)


Param = FloatParam | IntParam | ChoiceParam
PARAM_TYPES = ("float", "int", "choice")
_RANGE_KEYS = ("type", "low", "high", "log", "step", "when")
_CHOICE_KEYS = ("type", "values", "when")


def _when(param: Param) -> dict[str, Any]:
    return {"when": {name: encode_none(list(v)) for name, v in param.when}} if param.when else {}


def is_active(param: Param, point: dict[str, Any]) -> bool:
    """Whether `param` exists given the values already chosen in `point` (file order)."""
    return all(name in point and _among(point[name], values) for name, values in param.when)


def _among(value: Any, values: tuple[Scalar, ...]) -> bool:
    # By type too: in Python True == 1, but `when = { flag = [true] }` must not match 1.
    return any(type(value) is type(option) and value == option for option in values)


def controllers(space: dict[str, Param]) -> list[str]:
    """Parameters some condition depends on, in file order."""
    named = {name for param in space.values() for name, _ in param.when}
    return [name for name in space if name in named]


def _range_table(kind: str, low: Any, high: Any, log: bool, step: Any) -> dict[str, Any]:
    # Defaults are left out so a saved file reads like a hand-written one.
    table: dict[str, Any] = {"type": kind, "low": low, "high": high}
    if log:
        table["log"] = True
    if step is not None:
        table["step"] = step
    return table


def grid_size(param: Param) -> int:
    """How many distinct values a discrete parameter has (an int without step uses step 1)."""
    if isinstance(param, ChoiceParam):
        return len(param.values)
    if isinstance(param, IntParam):
        return (param.high - param.low) // (param.step or 1) + 1
    if param.step is None:
        raise ValueError("a float parameter without step has no grid")
    # Decimal over the written digits: 0..1 step 0.1 has 11 points, not 10 (1/0.1 < 10 in binary).
    return int((_dec(param.high) - _dec(param.low)) // _dec(param.step)) + 1


def grid_value(param: Param, index: int) -> Scalar:
    """The index-th value (0-based, ascending) of a discrete parameter."""
    if not 0 <= index < grid_size(param):
        raise IndexError(f"grid index {index} out of range")
    if isinstance(param, ChoiceParam):
        return param.values[index]
    if isinstance(param, IntParam):
        return param.low + index * (param.step or 1)
    # Decimal keeps 0.1 + 2*0.1 == 0.3 instead of 0.30000000000000004.
    return float(_dec(param.low) + index * _dec(param.step))


def _dec(value: float | int | None) -> Decimal:
    return Decimal(repr(value))


def parse_space(table: Any, where: str) -> tuple[dict[str, Param], list[str]]:
    """Parse the [space] table; returns (params in file order, errors as 'dotted.key: message')."""
    if not isinstance(table, dict):
        return {}, [f"{where}: expected a table, got {describe(table)}"]
    if not table:
        return {}, [f"{where}: is empty; define at least one parameter to search"]
    params: dict[str, Param] = {}
    errors: list[str] = []
    for name, spec in table.items():
        param = _parse_param(spec, f"{where}.{name}", errors)
        if param is not None:
            when = _parse_when(spec.get("when"), params, f"{where}.{name}.when", errors)
            if when is not None:
                params[name] = replace(param, when=when)
    return params, errors


def _parse_when(
    raw: Any, earlier: dict[str, Param], key: str, errors: list[str]
) -> Condition | None:
    """`when = { other = [values] }`: each other is a choice defined above this parameter."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        errors.append(f'{key}: expected a table like {{ kernel = ["rbf"] }}, got {describe(raw)}')
        return None
    condition = []
    for name, values in raw.items():
        values = decode_none(values if isinstance(values, list) else [values])
        other = earlier.get(name)
        if not isinstance(other, ChoiceParam):
            choices = [n for n, p in earlier.items() if isinstance(p, ChoiceParam)]
            errors.append(
                f"{key}.{name}: a condition names a choice parameter defined above this one"
                + suggest(name, choices)
            )
            continue
        unknown = [value for value in values if not _among(value, other.values)]
        if unknown or not values:
            listed, known = ", ".join(map(repr, unknown)) or "no value", other.values
            errors.append(f"{key}.{name}: {listed} not among its values {known!r}")
            continue
        condition.append((name, tuple(values)))
    return tuple(condition) if len(condition) == len(raw) else None


def _parse_param(spec: Any, key: str, errors: list[str]) -> Param | None:
    if not isinstance(spec, dict):
        errors.append(
            f'{key}: expected a table like {{ type = "float", low = 0.1, high = 1.0 }}, '
            f"got {describe(spec)}"
        )
        return None
    kind = spec.get("type")
    if kind not in PARAM_TYPES:
        got = "missing" if kind is None else f"got {describe(kind)}"
        errors.append(f'{key}.type: must be "float", "int" or "choice" ({got})')
        return None
    allowed = _CHOICE_KEYS if kind == "choice" else _RANGE_KEYS
    before = len(errors)
    for unknown in (k for k in spec if k not in allowed):
        errors.append(f"{key}.{unknown}: unknown key for type {kind!r}{suggest(unknown, allowed)}")
    param = (
        _parse_choice(spec, key, errors) if kind == "choice" else _parse_range(spec, key, errors)
    )
    return param if len(errors) == before else None


def _parse_choice(spec: dict[str, Any], key: str, errors: list[str]) -> ChoiceParam | None:
    values = spec.get("values")
    if not isinstance(values, list):
        got = "missing" if values is None else f"got {describe(values)}"
        errors.append(f"{key}.values: expected a non-empty array of values ({got})")
        return None
    if not values:
        errors.append(f"{key}.values: must not be empty")
        return None
    decoded = decode_none(values)
    seen: set[tuple[type, Any]] = set()
    for i, value in enumerate(decoded):
        if value is not None and not isinstance(value, str | int | float | bool):
            errors.append(
                f"{key}.values[{i}]: expected a string, number or boolean, got {describe(value)}"
            )
        elif (type(value), value) in seen:
            # A repeated value would make grid run (and random favour) the same trial twice.
            errors.append(f"{key}.values[{i}]: duplicate value {value!r}")
        else:
            seen.add((type(value), value))
    return ChoiceParam(tuple(decoded))


def _parse_range(spec: dict[str, Any], key: str, errors: list[str]) -> Param | None:
    is_int = spec["type"] == "int"
    number = _int_field if is_int else _float_field
    low = number(spec, "low", key, errors, required=True)
    high = number(spec, "high", key, errors, required=True)
    step = number(spec, "step", key, errors, required=False)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        errors.append(f"{key}.log: expected a boolean, got {describe(log)}")
        return None
    if low is None or high is None:
        return None
    ok = True
    if low >= high:
        errors.append(f"{key}.low: must be less than high (got low = {low}, high = {high})")
        ok = False
    if log and low <= 0:
        errors.append(f"{key}.low: log = true needs low > 0 (got {low})")
        ok = False
    if step is not None and step <= 0:
        errors.append(f"{key}.step: must be greater than 0 (got {step})")
        ok = False
    if not ok:
        return None
    cls = IntParam if is_int else FloatParam
    return cls(low=low, high=high, log=log, step=step)


def _int_field(
    spec: dict[str, Any], name: str, key: str, errors: list[str], *, required: bool
) -> int | None:
    value = spec.get(name)
    if value is None:
        if required:
            errors.append(f"{key}.{name}: required key is missing (an integer)")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{key}.{name}: expected an integer, got {describe(value)}")
        return None
    return value


def _float_field(
    spec: dict[str, Any], name: str, key: str, errors: list[str], *, required: bool
) -> float | None:
    value = spec.get(name)
    if value is None:
        if required:
            errors.append(f"{key}.{name}: required key is missing (a number)")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"{key}.{name}: expected a number, got {describe(value)}")
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors.append(f"{key}.{name}: must be a finite number (got {value})")
        return None
    return float(value)
