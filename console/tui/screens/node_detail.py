"""Everything about one node: where it connects from, its capacity, versions and current work."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.scheduler.nodes import QUARANTINE_AFTER, NodeInfo


def describe_node(node: NodeInfo, state: str, trials_running: list[int], seen_ago_s: float) -> Text:
    out = Text()
    out.append(f"Node {node.node_id}", style="bold")
    out.append(f"   {state}\n\n")
    rows = [
        ("host", node.host),
        ("address", node.address or "unknown"),
        ("link", f"CURVE, key {node.key_name}" if node.key_name else "plaintext"),
        ("slots", f"{node.slots} (+{node.prefetch} prefetched)"),
        ("running", ", ".join(f"trial {t}" for t in trials_running) or "nothing"),
        ("trials done", str(node.done)),
        ("trials failed", str(node.failed)),
        ("faults in a row", f"{node.strikes} (quarantined at {QUARANTINE_AFTER})"),
        ("proven", "yes" if node.proven else "not yet (gets one trial at a time)"),
        ("last heard", f"{seen_ago_s:.1f} s ago"),
    ]
    rows += [(f"version of {name}", str(value)[:40]) for name, value in node.versions.items()]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
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
