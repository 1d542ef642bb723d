"""Field checkers for wire messages, derived from dataclass annotations: the one place that
decides what a JSON value must look like to become a typed field (node/protocol.py declares the
messages). A hostile peer can only make a message fail here, never allocate or recurse without
bound."""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any

MAX_ID_LENGTH = 128
MAX_LIST_ITEMS = 4096  # `running`, `acks`, `fold_scores`: far beyond any real node
MAX_JSON_DEPTH = 8  # inside free-form objects (params, dataset, versions)


class ProtocolError(ValueError):
    """An inbound message failed validation; the message is dropped."""


Checker = Callable[[Any, str], Any]  # (raw JSON value, where) -> typed value, or ProtocolError
Schema = list[tuple[str, Checker, bool]]  # (field, its checker, required)


def build(cls: type, body: dict[str, Any], where: str) -> Any:
    """An instance of dataclass `cls` from a JSON object, every field checked."""
    values: dict[str, Any] = {}
    for name, checker, required in schema_of(cls):
        if name not in body:
            if required:
                raise ProtocolError(f"{where} lacks field {name!r}")
            continue  # extra fields are ignored: a newer peer may add information
        values[name] = checker(body[name], f"{where} field {name!r}")
    return cls(**values)


@functools.cache
def schema_of(cls: type) -> Schema:
    """Each field of dataclass `cls` with the checker its annotation calls for."""
    hints = typing.get_type_hints(cls)
    required = {f.name: f.default is MISSING and f.default_factory is MISSING for f in fields(cls)}
    return [(name, _checker_for(name, hints[name]), required[name]) for name in required]


@functools.cache
def field_names(cls: type) -> tuple[str, ...]:
    return tuple(name for name, _, _ in schema_of(cls))


def _check_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{where} has the wrong type")
    return value


def _check_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise ProtocolError(f"{where} is empty or too long")
    return value


def _check_int(value: Any, where: str) -> int:
    # bool is an int subclass in Python; never accept it where a number is meant.
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**53:
        raise ProtocolError(f"{where} has the wrong type")
    return value


def _check_float(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ProtocolError(f"{where} has the wrong type")
    if not math.isfinite(value):  # JSON as Python reads it allows NaN and Infinity
        raise ProtocolError(f"{where} is not a finite number")
    return float(value)


def _check_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not _json_within(value, MAX_JSON_DEPTH):
        raise ProtocolError(f"{where} has the wrong type or nests too deeply")
    return value


def _json_within(value: Any, depth: int) -> bool:
    """Whether `value` nests no deeper than `depth` (checked without deep recursion)."""
    if isinstance(value, dict):
        return depth > 0 and all(_json_within(v, depth - 1) for v in value.values())
    if isinstance(value, list):
        return depth > 0 and all(_json_within(v, depth - 1) for v in value)
    return True


def _optional(inner: Checker) -> Checker:
    def check(value: Any, where: str) -> Any:
        return None if value is None else inner(value, where)

    return check


def _sequence(inner: Checker) -> Checker:
    def check(value: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
            raise ProtocolError(f"{where} must be a list of at most {MAX_LIST_ITEMS} items")
        return tuple(inner(item, where) for item in value)

    return check


def _nested(cls: type) -> Checker:
    def check(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise ProtocolError(f"{where} has an item that is not an object")
        return build(cls, value, where)

    return check


_ID_FIELDS = frozenset({"node_id", "lease_id"})
_SCALARS: dict[Any, Checker] = {str: _check_str, int: _check_int, float: _check_float}


def _checker_for(name: str, annotation: Any) -> Checker:
    """The checker for one field, derived from its annotation."""
    if name in _ID_FIELDS and annotation is str:
        return _check_id
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is types.UnionType and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return _optional(_checker_for(name, inner))
    if origin is dict:
        return _check_object
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = args[0]
        nested = dataclasses.is_dataclass(item)  # e.g. HELLO's held leases
        return _sequence(_nested(item) if nested else _checker_for(name, item))
    raise TypeError(f"no wire checker for {name}: {annotation!r}")
