"""One row per node ever seen: slots busy/total, trials done and failed, heartbeat age, state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from console.tui.widgets.keyed_rows import KeyedRows
from console.view.models import NodeView

NODE_STATE_STYLES = {
    "idle": "yellow",
    "busy": "green",
    "draining": "magenta",
    "drained": "magenta",
    "lost": "bold red",
    "quarantined": "bold white on red",
    "left": "dim",
}
COLUMN_WIDTHS = {
    "node": 10,
    "host": 12,
    "slots": 5,
    "done": 5,
    "failed": 6,
    "seen": 5,
    "state": 8,
}


class NodesTable(DataTable):
    """Keyed by node id and updated in place; lost nodes stay, marked."""

    DEFAULT_CSS = """
    NodesTable { height: auto; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keyed = KeyedRows(self, tuple(COLUMN_WIDTHS))

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name, width in COLUMN_WIDTHS.items():
            self.add_column(name, key=name, width=width)

    def show(self, nodes: tuple[NodeView, ...]) -> None:
        for node in nodes:
            self.keyed.put(
                node.node_id,
                (
                    node.node_id,
                    node.host,
                    f"{node.busy}/{node.slots}",
                    node.done,
                    node.failed,
                    _age(node),
                    Text(node.state, style=NODE_STATE_STYLES.get(node.state, "")),
                ),
            )

    def reset(self) -> None:
        self.keyed.clear()

    @property
    def selected_node(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value


def _age(node: NodeView) -> str:
    if node.state in ("lost", "left"):
        return "--"
    return f"{node.last_seen_age_s:.0f}s" if node.last_seen_age_s >= 1.5 else "now"
