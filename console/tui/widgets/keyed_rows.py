"""Keyed DataTable rows updated in place, touching only the cells whose value changed."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable


class KeyedRows:
    """Remembers what each row shows, so a refresh ten times a second costs only real changes."""

    def __init__(self, table: DataTable, columns: tuple[str, ...]) -> None:
        self.table = table
        self.columns = columns
        self.shown: dict[str, tuple[Any, ...]] = {}

    def put(self, key: str, cells: tuple[Any, ...]) -> bool:
        """Add or update a row; True if it was added."""
        before = self.shown.get(key)
        if before is None:
            self.table.add_row(*cells, key=key)
            self.shown[key] = cells
            return True
        for column, old, new in zip(self.columns, before, cells, strict=True):
            if old != new:
                self.table.update_cell(key, column, new)
        self.shown[key] = cells
        return False

    def set_cell(self, key: str, column: str, value: Any) -> None:
        index = self.columns.index(column)
        cells = self.shown[key]
        if cells[index] != value:
            self.table.update_cell(key, column, value)
            self.shown[key] = (*cells[:index], value, *cells[index + 1 :])

    def remove(self, key: str) -> None:
        self.table.remove_row(key)
        del self.shown[key]

    def clear(self) -> None:
        self.table.clear()
        self.shown.clear()
