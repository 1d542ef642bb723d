"""A trial's params in a table cell: whole `name=value` pairs that fit, then how many are left.

A cell cut at its edge can lie: `n_estimators=15` where the value was 157. This one never cuts
inside a pair; what does not fit is counted (`…+2`) and shown in full in the trial's detail.
In a column too narrow for even one pair (80 columns), the cells show values only, in order,
and the table's header names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

SEPARATOR = ", "
ELLIPSIS = "…"


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_params(params: dict[str, Any]) -> str:
    return SEPARATOR.join(f"{name}={format_value(value)}" for name, value in params.items())


def elide_items(items: tuple[str, ...], width: int) -> str:
    """As many whole items as fit in `width` cells, then `…+N` for the rest."""
    return elide_pairs(items, width, values=True)


def elide_pairs(pairs: tuple[str, ...], width: int, values: bool = False) -> str:
    """As many whole pairs as fit in `width` cells, then `…+N` for the rest."""
    full = SEPARATOR.join(pairs)
    if cell_len(full) <= width:
        return full
    for count in range(len(pairs) - 1, 0, -1):
        text = f"{SEPARATOR.join(pairs[:count])} {ELLIPSIS}+{len(pairs) - count}"
        if cell_len(text) <= width:
            return text
    if values:
        return f"{ELLIPSIS}+{len(pairs)}" if width >= 3 else ELLIPSIS[:width]
    # Not even one whole pair: its name with the value hidden, never a cut value.
    name = pairs[0].split("=", 1)[0]
    more = f" +{len(pairs) - 1}" if len(pairs) > 1 else ""
    for text in (f"{name}={ELLIPSIS}{more}", f"{name}={ELLIPSIS}", f"{ELLIPSIS}+{len(pairs)}"):
        if cell_len(text) <= width:
            return text
    return ELLIPSIS if width >= 1 else ""


@dataclass
class ParamsLayout:
    """Shared by a table's cells: set by the table from its column's width."""

    values_only: bool = False


@dataclass(frozen=True)
class ParamsCell:
    """Rendered to the column's width when drawn, so a resize re-elides it."""

    names: tuple[str, ...]
    values: tuple[str, ...]
    layout: ParamsLayout = field(default_factory=ParamsLayout, compare=False, hash=False)

    @classmethod
    def of(cls, params: dict[str, Any], layout: ParamsLayout | None = None) -> ParamsCell:
        values = tuple(format_value(value) for value in params.values())
        return cls(tuple(params), values, layout or ParamsLayout())

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(f"{name}={value}" for name, value in zip(self.names, self.values, strict=True))

    @property
    def plain(self) -> str:
        return SEPARATOR.join(self.pairs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.layout.values_only:
            text = elide_items(self.values, width)
        else:
            text = elide_pairs(self.pairs, width)
        yield Text(text, no_wrap=True, end="")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, max(1, len(self.plain)))
