"""What the operator can do: every key, its action, and the command palette built from both."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import HelpScreen, key_names
from console.tui.screens.node_detail import NodeDetailScreen, describe_node
from console.tui.screens.trial_detail import TrialDetailScreen
from console.tui.widgets.trials_table import TrialsTable
from console.view.models import NodeDetail, Reply, TrialDetail

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
        "v",
        "next_param",
        "Param",
        tooltip="score by value: show the next parameter (the insight column, 120+ columns)",
        show=False,  # the footer is full; the panel's title says "v: next"
    ),
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
    Binding("q", "quit", "Quit", tooltip="checkpoint, stop local nodes, quit (attached: detach)"),
    # Also from anywhere, even a text field; not shown twice in the footer.
    Binding("ctrl+q,ctrl+c", "quit", "Quit", show=False, priority=True),
]


class Controls:
    """Actions of ConsoleApp; each is a command to the console (console/attach/commands.py), a
    dialog, or a change of this view only (sort, detail, screenshot)."""

    # -- palette and footer --------------------------------------------------------------------

    def get_system_commands(self: ConsoleApp, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # type: ignore[misc]
        for binding in self.offered_bindings(footer_only=False):
            yield SystemCommand(
                f"{self.label_of(binding)} ({key_names(binding)})",
                binding.tooltip,
                partial(self.run_action, binding.action),
            )

    def offered_keys(self: ConsoleApp) -> list[tuple[str, str]]:
        """(key, label) for the key bar."""
        keys = [
            (key_names(binding).split(" / ")[0], self.label_of(binding))
            for binding in self.offered_bindings(footer_only=True)
        ]
        return [*keys, ("ctrl+p", "Palette")]

    def label_of(self: ConsoleApp, binding: Binding) -> str:
        if binding.action == "quit" and not self.link.owns_search:
            return "Detach"  # attached: q leaves the search running
        return binding.description

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
        if action == "next_param":  # the insight column is shown on wide screens only
            return bool(self.insight.display)
        if action == "pause":
            return state == "running"
        if action == "resume":
            return state in ("paused", "stopped", "error")
        if action == "stop":  # a finished search has nothing running to stop
            return state in ("running", "paused")
        return True

    @property
    def search_state(self: ConsoleApp) -> str:
        mirror = self.mirror
        if not mirror.ready:
            return "starting"
        return "error" if mirror.host.failure else mirror.snapshot.state

    async def send(self: ConsoleApp, name: str, **args: object) -> Reply | None:
        """One command to the console; a refusal is a warning toast. None: the link failed."""
        try:
            reply = await self.link.command(name, **args)
        except Exception as exc:  # the console went away mid-command
            self.notify(f"{name}: {exc}", title="Console", severity="error", timeout=10)
            return None
        if not reply.ok and reply.message:
            severity = "error" if reply.title else "warning"
            self.notify(reply.message, title=reply.title, severity=severity, timeout=15)
        return reply

    def _send_soon(self: ConsoleApp, name: str, **args: object) -> None:
        self.run_worker(self.send(name, **args), group="commands", exit_on_error=False)

    # -- search controls -----------------------------------------------------------------------

    def action_pause(self: ConsoleApp) -> None:
        self._send_soon("pause")  # the log says so, from the state change

    def action_resume(self: ConsoleApp) -> None:
        self._send_soon("resume")

    def action_stop(self: ConsoleApp) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self._send_soon("stop")

        detail = "Running trials are cancelled and saved as pending. r resumes it."
        if self.mirror.host.headless:  # nothing would be left running to resume it
            detail = (
                "Running trials are cancelled and saved as pending. This console runs headless:"
                f" it then exits, and `hpo-console {self.mirror.snapshot.checkpoint}` resumes"
                " the search. To hold it and go on later here, pause (p) instead."
            )
        self.push_screen(ConfirmScreen("Stop the search?", detail), confirmed)

    def action_retry_failed(self: ConsoleApp) -> None:
        self._send_soon("retry_failed")

    def action_export(self: ConsoleApp) -> None:
        self._send_soon("export")

    # -- nodes ---------------------------------------------------------------------------------

    def action_drain(self: ConsoleApp) -> None:
        # Only the node under the nodes table's cursor when that table has the focus: with
        # the trials table focused, its cursor is somewhere the operator is not looking.
        node_id = self.nodes_table.selected_node if self.focused is self.nodes_table else None
        if node_id is None:
            self.notify(
                "select a node in the Nodes table first (Tab moves there)", severity="warning"
            )
            return
        self._send_soon("drain", node_id=node_id)

    def action_add_node(self: ConsoleApp) -> None:
        self._send_soon("add_node")

    def action_stop_node(self: ConsoleApp) -> None:
        # The selected node only when the nodes table has the focus; else the newest.
        selected = self.nodes_table.selected_node if self.focused is self.nodes_table else None
        self._send_soon("stop_node", node_id=selected)

    # -- insight -------------------------------------------------------------------------------

    def action_next_param(self: ConsoleApp) -> None:
        if self.insight.next_param(self.mirror) is None:
            self.notify("this search has no parameter to show", severity="warning")

    # -- trials --------------------------------------------------------------------------------

    def action_detail(self: ConsoleApp) -> None:
        """The selected node's detail if the nodes table has the focus, else the trial's."""
        if self.focused is self.nodes_table:
            self._show_node(self.nodes_table.selected_node)
            return
        trial_id = self.trials_table.selected_trial
        if trial_id is None:
            self.notify("no trial selected", severity="warning")
            return
        self.run_worker(self._show_trial(trial_id), group="detail", exclusive=True)

    async def _show_trial(self: ConsoleApp, trial_id: int) -> None:
        reply = await self.send("trial_detail", trial_id=trial_id)
        info = self.mirror.info
        if reply is None or not isinstance(reply.detail, TrialDetail) or info is None:
            return
        detail = reply.detail
        self.push_screen(
            TrialDetailScreen(detail.trial, info.metric, info.max_attempts, detail.on_front)
        )

    def _show_node(self: ConsoleApp, node_id: str | None) -> None:
        if node_id is None:
            self.notify("no node selected", severity="warning")
            return
        self.run_worker(self._show_node_detail(node_id), group="detail", exclusive=True)

    async def _show_node_detail(self: ConsoleApp, node_id: str) -> None:
        reply = await self.send("node_detail", node_id=node_id)
        if reply is not None and isinstance(reply.detail, NodeDetail):
            self.push_screen(NodeDetailScreen(describe_node(reply.detail)))

    def on_data_table_row_selected(self: ConsoleApp, event: TrialsTable.RowSelected) -> None:
        """Enter on a row opens its detail (a trial's or a node's)."""
        if event.data_table is self.trials_table:
            self.action_detail()
        elif event.data_table is self.nodes_table:
            self._show_node(event.row_key.value)

    def action_sort(self: ConsoleApp) -> None:
        table = self.trials_table
        order = table.toggle_order(self.mirror.trials, self.mirror.now)
        self.trials_table.parent.border_title = f"Trials ({order} first)"  # type: ignore[union-attr]

    def action_help(self: ConsoleApp) -> None:
        self.push_screen(HelpScreen(BINDINGS, "zmq-hpo console: keys"))

    # -- quit ----------------------------------------------------------------------------------

    def action_quit(self: ConsoleApp) -> None:
        if not self.link.owns_search:  # attached: leave at once, the search goes on
            self._quit_confirmed(True)
            return
        checkpoint = self.mirror.snapshot.checkpoint if self.mirror.ready else "the checkpoint"
        self.push_screen(
            ConfirmScreen("Quit?", f"The search is checkpointed; reopen {checkpoint} to resume."),
            self._quit_confirmed,
        )

    @work(exclusive=True, group="quit")
    async def _quit_confirmed(self: ConsoleApp, yes: bool | None) -> None:
        if not yes:
            return
        if self.link.owns_search:
            self.notify("checkpointing and stopping local nodes...", timeout=30)
        await self.link.close()
        self.exit(0)
