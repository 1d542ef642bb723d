"""Everything about one trial: params, fold scores, attempts, node, and the full error text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.view.models import TrialView


def describe_trial(
    trial: TrialView, metric: str, max_attempts: int = 3, on_front: bool = False
) -> Text:
    out = Text()
    out.append(f"Trial {trial.id}", style="bold")
    out.append(f"   {trial.status}, attempt {trial.tries} of {max_attempts}")
    if trial.node:
        out.append(f", node {trial.node}")
    charged = f"{trial.failures} timeout(s)/crash(es)" if trial.failures else "nothing"
    out.append(
        f"\ncharged to it: {charged}; dispatched {trial.attempts} time(s) (stops, drains and "
        "nodes handing it back are not charged)",
        style="dim",
    )
    out.append("\n\nParameters\n", style="bold underline")  # all of them, unlike the table
    for name, value in trial.params.items():
        out.append(f"  {name} = {value!r}\n")
    if trial.score is not None:
        out.append(f"\n{metric}: ", style="bold")
        out.append(f"{trial.score:.6f} +- {trial.std or 0.0:.6f}\n")
    if trial.by_fold:
        out.append("fold scores: ", style="bold")
        folds = sorted(trial.by_fold)
        if folds == list(range(1, len(folds) + 1)):
            out.append(", ".join(f"{s:.4f}" for s in trial.fold_scores) + "\n")
        else:  # some folds only, out of order (in flight on several nodes): say which
            out.append(", ".join(f"{f}: {trial.by_fold[f]:.4f}" for f in folds) + "\n")
    for name, scores in trial.scores.items():  # every metric, when the search records several
        if name == metric or not scores:
            continue
        mean = sum(scores) / len(scores)
        out.append(f"{name}: ", style="bold")
        out.append(f"{mean:.6f}  (folds {', '.join(f'{s:.4f}' for s in scores)})\n")
    if trial.duration_s is not None:
        out.append(f"fit + score time: {trial.duration_s:.2f} s\n")
    if on_front:  # several objectives: no other trial beats it in one without losing in another
        out.append("on the Pareto front of the search's objectives\n", style="bold")
    if trial.finished_at:
        out.append(f"finished at: {trial.finished_at}\n")
    if trial.error and trial.status == "pruned":
        out.append("\nPruned\n", style="bold underline magenta")
        out.append(trial.error.rstrip() + "\n")
    elif trial.error:
        out.append("\nError\n", style="bold underline red")
        out.append(trial.error.rstrip() + "\n", style="red")
    return out


class TrialDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]
    DEFAULT_CSS = """
    TrialDetailScreen { align: center middle; }
    TrialDetailScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%; border: thick $accent;
        padding: 1 2; background: $surface;
    }
    """

    def __init__(
        self, trial: TrialView, metric: str, max_attempts: int = 3, on_front: bool = False
    ) -> None:
        super().__init__()
        self.text = describe_trial(trial, metric, max_attempts, on_front)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text)
            yield Static(Text("Escape / Enter: close   arrows: scroll", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
