"""What the operator can do: every key, its action, and the command palette built from both."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from console.results import pareto_ids
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import HelpScreen, key_names
from console.tui.screens.node_detail import NodeDetailScreen, describe_node
from console.tui.screens.trial_detail import TrialDetailScreen
from console.tui.widgets.trials_table import TrialsTable

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp

# Only keys that survive SSH and tmux: letters, F-keys, ctrl+letter. The first few are what a
# narrow footer shows, so they come first.
BINDINGS = [
    Binding("question_mark,f1", "help", "Help", tooltip="this key table"),
    Binding("p", "pause", "Pause", tooltip="pause: running trials finish, nothing new starts"),
    Binding("r", "resume", "Resume", tooltip="resume a paused or stopped search"),
    Binding(
        "i",
        "detail",
        "Detail",
        tooltip="detail of the selected trial (params, folds, error) or node (versions)",
    ),
    Binding("s", "sort", "Sort", tooltip="trials newest first / best score first / failed first"),
    Binding(
        "d",
        "drain",
        "Drain",
        tooltip="drain the selected node; again: undo (also releases a quarantined node)",
    ),
    Binding("f", "retry_failed", "Retry", tooltip="retry every failed trial"),
    Binding("n", "add_node", "+Node", tooltip="start one more local node"),
    Binding("k", "stop_node", "-Node", tooltip="stop the selected (or newest) local node"),
    Binding("e", "export", "Export", tooltip="export the best model to the object store"),
    Binding("w", "save", "Save", tooltip="checkpoint now"),
    Binding("a", "save_as", "SaveAs", tooltip="save the search with its results to a new file"),
    Binding("o", "open", "Open", tooltip="open another search file (this one is checkpointed)"),
    Binding(
        "f2", "save_screenshot", "Shot", tooltip="save an SVG screenshot next to the checkpoint"
    ),
    Binding("x", "stop", "Stop", tooltip="stop: cancel running trials, checkpoint"),
    Binding("q", "quit", "Quit", tooltip="checkpoint, stop local nodes, quit"),
    # Also from anywhere, even a text field; not shown twice in the footer.
    Binding("ctrl+q,ctrl+c", "quit", "Quit", show=False, priority=True),
]


class Controls:
    """Actions of ConsoleApp; each forwards to the scheduler, the local nodes or a dialog."""

    # -- palette and footer --------------------------------------------------------------------

    def get_system_commands(self: ConsoleApp, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # type: ignore[misc]
        for binding in self.offered_bindings(footer_only=False):
            yield SystemCommand(
                f"{binding.description} ({key_names(binding)})",
                binding.tooltip,
                partial(self.run_action, binding.action),
            )

    def offered_keys(self: ConsoleApp) -> list[tuple[str, str]]:
        """(key, label) for the key bar."""
        keys = [
            (key_names(binding).split(" / ")[0], binding.description)
            for binding in self.offered_bindings(footer_only=True)
        ]
        return [*keys, ("ctrl+p", "Palette")]

    def offered_bindings(self: ConsoleApp, footer_only: bool) -> list[Binding]:
        """The bindings whose action applies now, each action once (its first binding)."""
        offered: dict[str, Binding] = {}
        for binding in BINDINGS:
            if (binding.show or not footer_only) and self.applies(binding.action):
                offered.setdefault(binding.action, binding)
        return list(offered.values())

    def check_action(self: ConsoleApp, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.screen, ModalScreen):
            return False  # a dialog is open: only its own keys
        return self.applies(action)

    def applies(self: ConsoleApp, action: str) -> bool:
        """Whether an action makes sense in the search's current state."""
        state = self.search_state
        if action == "pause":
            return state == "running"
        if action == "resume":
            return state in ("paused", "stopped", "error")
        if action == "stop":  # a finished search has nothing running to stop
            return state in ("running", "paused")
        return True

    @property
    def search_state(self: ConsoleApp) -> str:
        if self.failure:
            return "error"
        return self.running.scheduler.state if self.running else "starting"

    # -- search controls -----------------------------------------------------------------------

    def action_pause(self: ConsoleApp) -> None:
        if self.running and self.running.scheduler.state == "running":
            self.running.scheduler.pause()  # the log says so, from the state change

    async def action_resume(self: ConsoleApp) -> None:
        if self.running is None:
            return
        if self.search_state in ("stopped", "error"):  # the scheduler has returned: reopen
            await self._switch_to(self.running.opened.checkpoint)
            return
        self.running.scheduler.resume()  # the log says so, from the state change

    def action_stop(self: ConsoleApp) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes and self.running:
                self.running.scheduler.stop()
                self.say("stopping: running trials are cancelled and saved as pending", "warning")

        self.push_screen(
            ConfirmScreen(
                "Stop the search?",
                "Running trials are cancelled and saved as pending. r resumes it.",
            ),
            confirmed,
        )

    async def action_retry_failed(self: ConsoleApp) -> None:
        if self.running is None:
            return
        if not self.running.scheduler.ledger.failed:
            self.say("no failed trial to retry")
            return
        if not self.running.serving:  # stopped or failed: reopen the checkpoint, then retry
            await self._switch_to(self.running.opened.checkpoint)
        count = self.running.scheduler.retry_failed()
        self.say(f"retrying {count} failed trial(s)")

    # -- nodes ---------------------------------------------------------------------------------

    def action_drain(self: ConsoleApp) -> None:
        # Only the node under the nodes table's cursor when that table has the focus: with
        # the trials table focused, its cursor is somewhere the operator is not looking.
        node_id = self.nodes_table.selected_node if self.focused is self.nodes_table else None
        if self.running is None or node_id is None:
            self.notify(
                "select a node in the Nodes table first (Tab moves there)", severity="warning"
            )
            return
        node = self.running.scheduler.nodes.get(node_id)
        draining = not (node and (node.draining or node.quarantined))
        self.running.scheduler.drain(node_id, draining)
        self.say(
            f"node {node_id} draining: finishes its trials, gets no more (d again: undo)"
            if draining
            else f"node {node_id} takes trials again"
        )

    def action_add_node(self: ConsoleApp) -> None:
        local = self.running.local if self.running else None
        if local is None:
            self.notify("the search is not listening yet", severity="warning")
            return
        (node_id,) = local.start(1)
        self.say(f"started local node {node_id} ({local.slots} slot(s)); it joins in a moment")

    def action_stop_node(self: ConsoleApp) -> None:
        local = self.running.local if self.running else None
        running = local.running() if local else []
        if local is None or not running:
            self.notify("no local node is running", severity="warning")
            return
        # The selected node only when the nodes table has the focus; else the newest.
        selected = self.nodes_table.selected_node if self.focused is self.nodes_table else None
        node_id = selected if selected in running else running[-1]
        local.stop(node_id)
        self.say(f"stopping local node {node_id}: it hands its trials back and exits")

    # -- trials --------------------------------------------------------------------------------

    def action_detail(self: ConsoleApp) -> None:
        """The selected node's detail if the nodes table has the focus, else the trial's."""
        if self.running is None:
            return
        if self.focused is self.nodes_table:
            self._show_node(self.nodes_table.selected_node)
            return
        trial_id = self.trials_table.selected_trial
        if trial_id is None:
            self.notify("no trial selected", severity="warning")
            return
        scheduler = self.running.scheduler
        trial = scheduler.ledger.trials[trial_id]
        spec = scheduler.spec
        front = pareto_ids(spec, [t.record() for t in scheduler.ledger.trials.values()])
        self.push_screen(
            TrialDetailScreen(trial, spec.metric, spec.max_attempts, on_front=trial_id in front)
        )

    def _show_node(self: ConsoleApp, node_id: str | None) -> None:
        scheduler = self.running.scheduler  # type: ignore[union-attr]
        node = scheduler.nodes.get(node_id or "")
        if node is None:
            self.notify("no node selected", severity="warning")
            return
        running = sorted(lease.trial_id for lease in scheduler.core.leases.of_node(node.node_id))
        seen = scheduler.clock() - node.last_seen
        state = scheduler.nodes.state_of(node)
        self.push_screen(NodeDetailScreen(describe_node(node, state, running, seen)))

    def on_data_table_row_selected(self: ConsoleApp, event: TrialsTable.RowSelected) -> None:
        """Enter on a row opens its detail (a trial's or a node's)."""
        if event.data_table is self.trials_table:
            self.action_detail()
        elif event.data_table is self.nodes_table:
            self._show_node(event.row_key.value)

    def action_sort(self: ConsoleApp) -> None:
        if self.running is None:
            return
        table = self.trials_table
        order = table.toggle_order(self.running.scheduler.ledger, self.running.scheduler.clock())
        self.trials_table.parent.border_title = f"Trials ({order} first)"  # type: ignore[union-attr]

    def action_help(self: ConsoleApp) -> None:
        self.push_screen(HelpScreen(BINDINGS, "zmq-hpo console: keys"))

    # -- quit ----------------------------------------------------------------------------------

    def action_quit(self: ConsoleApp) -> None:
        checkpoint = self.running.opened.checkpoint if self.running else "the checkpoint"
        self.push_screen(
            ConfirmScreen("Quit?", f"The search is checkpointed; reopen {checkpoint} to resume."),
            self._quit_confirmed,
        )

    @work(exclusive=True, group="quit")
    async def _quit_confirmed(self: ConsoleApp, yes: bool | None) -> None:
        if not yes:
            return
        self.notify("checkpointing and stopping local nodes...", timeout=30)
        if self.running is not None:
            await self.running.shutdown()
        self.exit(0)

    def on_search_state(self: ConsoleApp, state: str) -> None:
        if self.running is None or state != "finished":
            return
        if self.running.finished_at_open and not self.running.scheduler.ledger.finish_times:
            return  # reopened finished, nothing new recorded: no toast, no second auto export
        snap = self.running.scheduler.snapshot()
        best = (
            f"best {snap.best_score:.4f} (trial {snap.best_trial})"
            if snap.best_trial is not None
            else "no trial scored"
        )
        self.notify(
            f"{snap.done} scored, {snap.failed} failed; {best}",
            title="Search finished",
            timeout=15,
        )
        spec = self.running.scheduler.spec
        best_id = snap.best_trial
        if spec.export.auto and best_id is not None and self.exported_for != best_id:
            self.exported_for = best_id  # once per best model, not at every finish
            self.start_export(reason=", [export] auto")
