"""Reading TOML with good errors: typed table access, and the line where a dotted key sits."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from typing import Any

from console.search.space import describe, suggest

_REQUIRED = object()


class Section:
    """Reads typed keys from one TOML table, appending 'table.key: message' errors as it goes."""

    def __init__(self, table: dict[str, Any], where: str, errors: list[str]) -> None:
        self.table, self.where, self.errors = table, where, errors
        self._first_error = len(errors)
        self._known: set[str] = set()

    def error(self, key: str, message: str) -> None:
        self.errors.append(f"{self.where}.{key}: {message}")

    def get(self, key: str, default: Any, expected: str, ok: Callable[[Any], bool]) -> Any:
        """The value at key if ok(value); else None and an error. Missing: default, or an error."""
        self._known.add(key)
        if key not in self.table:
            if default is _REQUIRED:
                self.error(key, f"required key is missing ({expected})")
                return None
            return default
        value = self.table[key]
        if not ok(value):
            self.error(key, f"expected {expected}, got {describe(value)}")
            return None
        return value

    def string(self, key: str, default: Any = _REQUIRED) -> Any:
        return self.get(key, default, "a string", lambda v: isinstance(v, str))

    def boolean(self, key: str, default: Any = _REQUIRED) -> Any:
        return self.get(key, default, "a boolean", lambda v: isinstance(v, bool))

    def table_(self, key: str, default: Any = _REQUIRED) -> Any:
        return self.get(key, default, "a table", lambda v: isinstance(v, dict))

    def choice(self, key: str, options: tuple[str, ...], default: Any = _REQUIRED) -> Any:
        value = self.string(key, default)
        if value is not None and value not in options:
            listed = ", ".join(map(repr, options))
            self.error(key, f"must be one of {listed} (got {value!r}){suggest(value, options)}")
            return None
        return value

    def integer(
        self, key: str, default: Any = _REQUIRED, minimum: int = 0, maximum: int = 2**63
    ) -> Any:
        value = self.get(key, default, "an integer", _is_int)
        if key not in self.table or value is None:
            return value
        if not minimum <= value <= maximum:
            bound = f"at least {minimum}" if value < minimum else f"at most {maximum}"
            self.error(key, f"must be {bound} (got {value})")
            return None
        return value

    def number(self, key: str, default: Any = _REQUIRED, positive: bool = False) -> Any:
        value = self.get(key, default, "a number", lambda v: _is_int(v) or isinstance(v, float))
        if key not in self.table or value is None:
            return value
        if positive and not 0 < value < math.inf:
            self.error(key, f"must be a number greater than 0 (got {value})")
            return None
        return float(value)

    def finish(self) -> bool:
        """Report keys nobody read as unknown; True when this table had no errors."""
        for key in self.table:
            if key not in self._known:
                self.error(key, f"unknown key{suggest(key, self._known)}")
        return len(self.errors) == self._first_error


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML booleans are not counts


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML booleans are not counts


_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_HEADER_LINE = re.compile(r"\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(#.*)?$")
_SIMPLE_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_LINE = re.compile(rf"\s*({_SIMPLE_KEY}(?:\s*\.\s*{_SIMPLE_KEY})*)\s*=")
_KEY_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""")


def syntax_error(label: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    at = _AT.search(message)
    if at is None:
        return f"{label}: syntax error: {message}"
    return f"{label}:{at[1]}:{at[2]}: syntax error: {message[: at.start()]}"


def locate(label: str, text: str, errors: list[str]) -> list[str]:
    """Prefix each 'dotted.key: message' with the file and, when found, the key's line."""
    lines = _key_lines(text)
    numbered = [(_line_of(error.split(": ", 1)[0], lines), error) for error in errors]
    # Top to bottom, as the user reads the file; file-level problems (no line) first.
    numbered.sort(key=lambda item: item[0] or 0)
    return [f"{label}:{line}: {error}" if line else f"{label}: {error}" for line, error in numbered]


def _line_of(key: str, lines: dict[str, int]) -> int | None:
    """The line of `key` or, failing that, of its nearest enclosing key or table."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        for name in (candidate, re.sub(r"\[\d+\]$", "", candidate)):
            if name in lines:
                return lines[name]
    return None


def _key_lines(text: str) -> dict[str, int]:
    """Map dotted keys ('space.C', 'trials[2].score') to the line that first defines them.

    A simple line scan, not a parser: good enough to point at the right place in any file that
    tomllib already accepted.
    """
    lines: dict[str, int] = {}
    arrays: dict[str, int] = {}  # array-of-tables name -> index of its latest [[entry]]
    table = ""
    in_multiline_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        toggles = (line.count('"""') + line.count("'''")) % 2 == 1
        if in_multiline_string:
            in_multiline_string = not toggles
            continue
        in_multiline_string = toggles
        header = _HEADER_LINE.match(line)
        if header:
            parts = _split_key(header[2])
            if header[1] == "[[":
                name = ".".join(parts)
                arrays[name] = arrays.get(name, -1) + 1
            table = _indexed(parts, arrays)
            lines.setdefault(table, number)
        elif assignment := _KEY_LINE.match(line):
            key = ".".join(_split_key(assignment[1]))
            lines.setdefault(f"{table}.{key}" if table else key, number)
    return lines


def _split_key(dotted: str) -> list[str]:
    return ["".join(groups) for groups in _KEY_PART.findall(dotted)]


def _indexed(parts: list[str], arrays: dict[str, int]) -> str:
    """'trials.params' -> 'trials[3].params' while inside the fourth [[trials]]."""
    path = []
    for end, part in enumerate(parts, start=1):
        name = ".".join(parts[:end])
        path.append(f"{part}[{arrays[name]}]" if name in arrays else part)
    return ".".join(path)
