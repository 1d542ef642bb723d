"""The view messages as JSON and back, driven by their type hints (no pickle, no eval).

`to_data` turns a frozen dataclass into plain JSON data; `from_data` rebuilds it and checks every
field's type on the way, so a malformed message raises `CodecError` instead of reaching a widget.
A field typed as a union of dataclasses carries the class name under "_t".
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

from console.view import models

MODELS: dict[str, type] = {
    name: cls
    for name, cls in vars(models).items()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls)
}


class CodecError(ValueError):
    """The data does not fit the message type."""


def to_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
        data["_t"] = type(value).__name__
        return data
    if isinstance(value, tuple | list):
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_data(item) for key, item in value.items()}
    return value


def from_data(cls: type, data: Any) -> Any:
    """`data` (from `to_data`, through JSON) as a `cls`; CodecError if it is not one."""
    return _build(cls, data, cls.__name__)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(models))


def _build(hint: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if data is None and type(None) in options:
            return None
        classes = [o for o in options if dataclasses.is_dataclass(o)]
        if classes and isinstance(data, dict):
            chosen = MODELS.get(data.get("_t", ""))
            if chosen not in classes:
                raise CodecError(f"{where}: unexpected type {data.get('_t')!r}")
            return _build(chosen, data, where)
        for option in options:
            if option is type(None):
                continue
            try:
                return _build(option, data, where)
            except CodecError:
                continue
        raise CodecError(f"{where}: {data!r} fits none of {hint}")
    if dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise CodecError(f"{where}: expected an object")
        hints = _hints(hint)
        kwargs = {}
        for f in dataclasses.fields(hint):
            if f.name in data:
                kwargs[f.name] = _build(hints[f.name], data[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise CodecError(f"{where}: {f.name} missing")
        return hint(**kwargs)
    if origin is tuple:
        if not isinstance(data, list):
            raise CodecError(f"{where}: expected a list")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], item, f"{where}[{i}]") for i, item in enumerate(data))
        if len(args) != len(data):
            raise CodecError(f"{where}: expected {len(args)} items")
        return tuple(
            _build(a, item, f"{where}[{i}]")
            for i, (a, item) in enumerate(zip(args, data, strict=True))
        )
    if origin is dict:
        if not isinstance(data, dict):
            raise CodecError(f"{where}: expected an object")
        key_type, value_type = typing.get_args(hint)
        out = {}
        for key, item in data.items():
            try:
                built_key = int(key) if key_type is int else key
            except ValueError:
                raise CodecError(f"{where}: key {key!r} is not a number") from None
            out[built_key] = _build(value_type, item, f"{where}[{key}]")
        return out
    if hint is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise CodecError(f"{where}: expected a number")
        return float(data)
    if hint in (int, str, bool):
        if not isinstance(data, hint) or (hint is int and isinstance(data, bool)):
            raise CodecError(f"{where}: expected {hint.__name__}")
        return data
    if hint is type(None):
        if data is not None:
            raise CodecError(f"{where}: expected null")
        return None
    raise CodecError(f"{where}: cannot read a {hint}")
