"""Snapshots of the dashboard, running and paused, at 80x24, 120x40 and 200x50, and of the quit
dialog, with a frozen clock.

Everything on screen is fixed: the clock (elapsed 0:00, heartbeat ages "now"), the endpoint (an
abstract IPC address, not a random TCP port), the checkpoint path (relative to the test's folder),
the trials (restored from a checkpoint written here) and the nodes (fixed host names).
Regenerate with `pytest tests/tui_tests/test_snapshots.py --snapshot-update` and look at them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.running_search import LaunchOptions
from console.scheduler.core import CONSOLE_VERSIONS, Scheduler
from console.scheduler.search_core import Peer
from console.scheduler.states import SearchState
from console.search.base import make_strategy
from console.searchfile.session import open_search
from console.searchfile.toml_io import TRIAL_DEFAULTS, SavedState, load_search, save_search
from console.tui.app import ConsoleApp
from console.tui.widgets.nodes_table import NodesTable
from console.tui.widgets.trials_table import TrialsTable
from node import protocol as p
from tests.conftest import write_search
from tests.tui_tests.conftest import host_of, until

pytestmark = pytest.mark.timeout(60)

FROZEN_AT = 1000.0
CHECKPOINT = Path("runs/digits-svc.toml")  # relative: the test runs in its own tmp_path
SPACE = (
    'C = { type = "choice", values = [0.1, 1.0, 10.0, 100.0] }\n'
    'gamma = { type = "choice", values = ["scale", 0.001, 0.01] }'
)
# (status, mean, fold scores, seconds, node) of trials 0-6; trial 7 was lost once and requeued.
FINISHED = [
    ("ok", 0.9061, [0.90, 0.91, 0.89, 0.92, 0.9105], 1.8, "node-a"),
    ("ok", 0.8915, [0.88, 0.90, 0.89, 0.89, 0.8975], 2.4, "node-b"),
    ("ok", 0.9444, [0.94, 0.95, 0.93, 0.95, 0.9520], 2.1, "node-a"),
    ("ok", 0.9638, [0.96, 0.97, 0.95, 0.97, 0.9690], 1.6, "node-b"),
    ("failed", None, [], None, "node-a"),
    ("ok", 0.9583, [0.95, 0.96, 0.95, 0.97, 0.9615], 1.9, "node-b"),
    ("ok", 0.9721, [0.97, 0.98, 0.96, 0.97, 0.9805], 1.7, "node-a"),
]
NODES = (("node-a", "lab-01", "10.0.0.7", 2), ("node-b", "lab-02", "10.0.0.8", 1))
ERROR = "ValueError: gamma must be 'scale', 'auto' or a positive float"


def _write_checkpoint(folder: Path, status: str) -> None:
    spec = load_search(
        write_search(folder, name="digits-svc", estimator="svc", space=SPACE, cv=5)
    ).spec
    strategy = make_strategy(spec.strategy, spec.space, spec.seed, spec.max_trials)
    rows = []
    for trial_id, (state, mean, folds, seconds, node) in enumerate(FINISHED):
        rows.append(
            TRIAL_DEFAULTS
            | {
                "id": trial_id,
                "params": strategy.ask(trial_id),
                "status": state,
                "score": mean,
                "std": 0.0071 if mean is not None else None,
                "fold_scores": folds,
                "attempts": 1,
                "node": node,
                "duration_s": seconds,
                "error": ERROR if state == "failed" else None,
                "finished_at": "2026-01-02T03:04:05+00:00",
            }
        )
    rows.append(TRIAL_DEFAULTS | {"id": 7, "params": strategy.ask(7), "attempts": 1, "failures": 1})
    state = SavedState(status, spec.config_hash(), "2026-01-02T03:04:05+00:00", rows)
    save_search(CHECKPOINT, spec, state)


async def _settle(pilot: Pilot) -> None:
    """Add two nodes running three trials, through the scheduler's public core, and wait.

    No node process connects: a real one reports its machine's host name and heartbeats in real
    time, so the screen would differ from machine to machine. Instead the test speaks for two
    nodes with fixed host names: their HELLOs and a trial's progress go to the SearchCore, and
    what it decides reaches the app as events. What it would send them is dropped (no socket
    holds their connections); under the frozen clock nothing more is ever due.
    """
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await until(
        pilot,
        lambda: host_of(app).running is not None and host_of(app).running.local is not None,
        20,
        "bound",
    )
    # Operators can attach (its log line is in the picture) before the fake nodes join.
    await until(pilot, lambda: host_of(app).control is not None, 20, "the control socket")
    scheduler = host_of(app).running.scheduler  # type: ignore[union-attr]
    core = scheduler.core
    scheduler.save()  # the first checkpoint, logged before the nodes join
    # A paused search shows trials dispatched before the pause: dispatch as if running.
    paused, core.state = core.state, SearchState.RUNNING
    sends = []
    for node_id, host, address, slots in NODES:
        hello = p.Hello(node_id, p.PROTOCOL_VERSION, slots, 0, host, (), dict(CONSOLE_VERSIONS))
        out = core.on_message(Peer(node_id.encode(), address), hello, FROZEN_AT)
        out.extend(core.tick(FROZEN_AT))
        sends += out.sends
        for event in out.events:
            scheduler.on_event(event)
    core.state = paused
    (first,) = [m for _, m in sends if isinstance(m, p.Task) and m.trial_id == 7]
    for fold, score in ((1, 0.9712), (2, 0.9655)):
        progress = p.Progress("node-a", 7, first.lease_id, fold, 5, score)
        for event in core.on_message(Peer(b"node-a"), progress, FROZEN_AT).events:
            scheduler.on_event(event)
    await until(
        pilot,
        lambda: app.query_one(NodesTable).row_count == 2 and "9" in app.query_one(TrialsTable).rows,
        20,
        "nodes and running trials shown",
    )
    await pilot.pause()


@pytest.fixture
def dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, int], ConsoleApp]:
    monkeypatch.chdir(tmp_path)
    # The scheduler's loop wakes every 50 ms; its first round writes and logs the first checkpoint
    # at a moment that races the app's own first log line. Here its first wake comes only after
    # 5 s, long after _settle() has run that round itself (which, with the clock frozen, leaves
    # nothing for later rounds to do), so the log's order is fixed.
    monkeypatch.setattr(Scheduler, "_poll_ms", lambda self: 5000)

    def make(status: str, n: int) -> ConsoleApp:
        _write_checkpoint(tmp_path, status)
        options = LaunchOptions(local_nodes=0, local_slots=1, bind=f"ipc://@hpo-snapshot-{n}")
        return ConsoleApp.running_here(open_search(CHECKPOINT), options, clock=lambda: FROZEN_AT)

    return make


@pytest.mark.parametrize(
    ("status", "size", "n"),
    [
        ("running", (80, 24), 1),
        ("paused", (80, 24), 2),
        ("running", (120, 40), 3),
        ("paused", (120, 40), 4),
        ("running", (200, 50), 5),
    ],
    ids=["running-80x24", "paused-80x24", "running-120x40", "paused-120x40", "running-200x50"],
)
def test_dashboard(snap_compare, dashboard, status: str, size: tuple[int, int], n: int) -> None:
    assert snap_compare(dashboard(status, n), terminal_size=size, run_before=_settle)


async def _ask_to_quit(pilot: Pilot) -> None:
    await _settle(pilot)
    await pilot.press("q")
    await pilot.pause()


@pytest.mark.parametrize(
    ("size", "n"), [((80, 24), 6), ((200, 50), 7)], ids=["quit-80x24", "quit-200x50"]
)
def test_quit_dialog(snap_compare, dashboard, size: tuple[int, int], n: int) -> None:
    """Its text wraps inside the dialog: the checkpoint to reopen is never cut off."""
    assert snap_compare(dashboard("running", n), terminal_size=size, run_before=_ask_to_quit)
