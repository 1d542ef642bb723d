"""Everything about one node: where it connects from, its capacity, versions and current work."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.view.models import NodeDetail


def describe_node(node: NodeDetail) -> Text:
    out = Text()
    out.append(f"Node {node.node_id}", style="bold")
    out.append(f"   {node.state}\n\n")
    width = max(len(name) for name, _ in node.rows)
    for name, value in node.rows:
        out.append(f"  {name:<{width}}  ", style="dim")
        out.append(f"{value}\n")
    if node.quarantined:
        out.append("\nQuarantined: it gets no trials. d releases it.\n", style="bold red")
    elif node.draining:
        out.append("\nDraining: it finishes its trials and gets no more. d undoes it.\n")
    return out


class NodeDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]
    DEFAULT_CSS = """
    NodeDetailScreen { align: center middle; }
    NodeDetailScreen > VerticalScroll {
        width: 80; max-width: 95%; height: auto; max-height: 90%; border: thick $accent;
        padding: 1 2; background: $surface;
    }
    """

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text)
            yield Static(Text("Escape / Enter: close", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
