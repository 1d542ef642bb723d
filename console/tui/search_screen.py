"""The console's main screen: the search view with every key that acts on the search.

Each action is a command to the console (console/attach/commands.py) sent through the link, a
dialog, or a change of this view only (sort, detail, screenshot). Quit is the app's.
"""

from __future__ import annotations

from textual.binding import Binding

from console.tui.file_dialogs import FileDialogs
from console.tui.keys import ALL_KEYS, QUIT, SCREEN_KEYS
from console.tui.link import ConsoleLink
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import HelpScreen, key_names
from console.tui.screens.node_detail import NodeDetailScreen, describe_node
from console.tui.screens.trial_detail import TrialDetailScreen
from console.tui.search_view import SearchView
from console.tui.sender import CommandSender
from console.tui.widgets.trials_table import TrialsTable
from console.view.models import NodeDetail, TrialDetail


class SearchScreen(SearchView):
    BINDINGS = SCREEN_KEYS

    def __init__(self, link: ConsoleLink) -> None:
        super().__init__(link)
        self.sender = CommandSender(self, link)
        self.files = FileDialogs(self, self.sender)

    # -- which keys apply, for the key bar and the palette -------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.applies(action)

    def applies(self, action: str) -> bool:
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

    def offered_bindings(self, footer_only: bool) -> list[Binding]:
        """The bindings whose action applies now, each action once (its first binding)."""
        offered: dict[str, Binding] = {}
        for binding in SCREEN_KEYS:
            if (binding.show or not footer_only) and self.applies(binding.action):
                offered.setdefault(binding.action, binding)
        return list(offered.values())

    def offered_keys(self) -> list[tuple[str, str]]:
        keys = [
            (key_names(binding).split(" / ")[0], self.label_of(binding))
            for binding in self.offered_bindings(footer_only=True)
        ]
        return [*keys, ("ctrl+p", "Palette")]

    def label_of(self, binding: Binding) -> str:
        if binding.action == QUIT and not self.link.owns_search:
            return "Detach"  # attached: q leaves the search running
        return binding.description

    # -- search controls -----------------------------------------------------------------------

    def action_pause(self) -> None:
        self.sender.send_soon("pause")  # the log says so, from the state change

    def action_resume(self) -> None:
        self.sender.send_soon("resume")

    def action_stop(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.sender.send_soon("stop")

        detail = "Running trials are cancelled and saved as pending. r resumes it."
        if self.mirror.host.headless:  # nothing would be left running to resume it
            detail = (
                "Running trials are cancelled and saved as pending. This console runs headless:"
                f" it then exits, and `hpo-console {self.mirror.snapshot.checkpoint}` resumes"
                " the search. To hold it and go on later here, pause (p) instead."
            )
        self.app.push_screen(ConfirmScreen("Stop the search?", detail), confirmed)

    def action_retry_failed(self) -> None:
        self.sender.send_soon("retry_failed")

    def action_export(self) -> None:
        self.sender.send_soon("export")

    # -- nodes ---------------------------------------------------------------------------------

    def action_drain(self) -> None:
        # Only the node under the nodes table's cursor when that table has the focus: with
        # the trials table focused, its cursor is somewhere the operator is not looking.
        node_id = self.nodes_table.selected_node if self.focused is self.nodes_table else None
        if node_id is None:
            self.notify(
                "select a node in the Nodes table first (Tab moves there)", severity="warning"
            )
            return
        self.sender.send_soon("drain", node_id=node_id)

    def action_add_node(self) -> None:
        self.sender.send_soon("add_node")

    def action_stop_node(self) -> None:
        # The selected node only when the nodes table has the focus; else the newest.
        selected = self.nodes_table.selected_node if self.focused is self.nodes_table else None
        self.sender.send_soon("stop_node", node_id=selected)

    # -- insight -------------------------------------------------------------------------------

    def action_next_param(self) -> None:
        if self.insight.next_param(self.mirror) is None:
            self.notify("this search has no parameter to show", severity="warning")

    # -- trials --------------------------------------------------------------------------------

    def action_detail(self) -> None:
        """The selected node's detail if the nodes table has the focus, else the trial's."""
        if self.focused is self.nodes_table:
            self._show_node(self.nodes_table.selected_node)
            return
        trial_id = self.trials_table.selected_trial
        if trial_id is None:
            self.notify("no trial selected", severity="warning")
            return
        self.run_worker(self._show_trial(trial_id), group="detail", exclusive=True)

    async def _show_trial(self, trial_id: int) -> None:
        reply = await self.sender.send("trial_detail", trial_id=trial_id)
        info = self.mirror.info
        if reply is None or not isinstance(reply.detail, TrialDetail) or info is None:
            return
        detail = reply.detail
        self.app.push_screen(
            TrialDetailScreen(detail.trial, info.metric, info.max_attempts, detail.on_front)
        )

    def _show_node(self, node_id: str | None) -> None:
        if node_id is None:
            self.notify("no node selected", severity="warning")
            return
        self.run_worker(self._show_node_detail(node_id), group="detail", exclusive=True)

    async def _show_node_detail(self, node_id: str) -> None:
        reply = await self.sender.send("node_detail", node_id=node_id)
        if reply is not None and isinstance(reply.detail, NodeDetail):
            self.app.push_screen(NodeDetailScreen(describe_node(reply.detail)))

    def on_data_table_row_selected(self, event: TrialsTable.RowSelected) -> None:
        """Enter on a row opens its detail (a trial's or a node's)."""
        if event.data_table is self.trials_table:
            self.action_detail()
        elif event.data_table is self.nodes_table:
            self._show_node(event.row_key.value)

    def action_sort(self) -> None:
        table = self.trials_table
        order = table.toggle_order(self.mirror.trials, self.mirror.now)
        table.parent.border_title = f"Trials ({order} first)"  # type: ignore[union-attr]

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(ALL_KEYS, "zmq-hpo console: keys"))

    # -- files (console/tui/file_dialogs.py) ---------------------------------------------------

    def action_save(self) -> None:
        self.files.save()

    def action_save_as(self) -> None:
        self.files.save_as()

    def action_open(self) -> None:
        self.files.open()

    def action_save_screenshot(self) -> None:
        self.files.screenshot()
