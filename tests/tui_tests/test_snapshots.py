"""Snapshots of the dashboard, running and paused, at 80x24 and 120x40, with a frozen clock.

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

from console.app import ConsoleApp
from console.running_search import LaunchOptions
from console.scheduler import events as ev
from console.scheduler.core import Scheduler
from console.scheduler.nodes import NodeInfo
from console.search.base import make_strategy
from console.searchfile import TRIAL_DEFAULTS, SavedState, load_search, save_search
from console.session import open_search
from console.widgets.nodes_table import NodesTable
from console.widgets.trials_table import TrialsTable
from tests.conftest import write_search
from tests.tui_tests.conftest import until

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
                "params": strategy.ask(),
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
    rows.append(TRIAL_DEFAULTS | {"id": 7, "params": strategy.ask(), "attempts": 1, "failures": 1})
    state = SavedState(status, spec.config_hash(), "2026-01-02T03:04:05+00:00", rows)
    save_search(CHECKPOINT, spec, state)


async def _settle(pilot: Pilot) -> None:
    """Add two nodes running three trials, through the scheduler's own code, and wait for them.

    No node process connects: a real one reports its machine's host name and heartbeats in real
    time, so the screen would differ from machine to machine. Instead the scheduler's node book
    gets NodeInfo entries with fixed host names, each holding as many leases as it has slots, so
    the scheduler never sends them anything: no credit means no TASK, and its only ping round
    (the first housekeeping, run here before they join) is never due again under a frozen clock.
    """
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await until(
        pilot, lambda: app.running is not None and app.running.local is not None, 20, "bound"
    )
    scheduler = app.running.scheduler  # type: ignore[union-attr]
    scheduler._housekeeping()  # the first round: writes and logs the first checkpoint
    for node_id, host, address, slots in NODES:
        node = NodeInfo(node_id, node_id.encode(), host, slots, 0, FROZEN_AT, address=address)
        scheduler.nodes.add(node)
        scheduler._emit(
            ev.NodeJoined,
            node_id=node_id,
            host=host,
            address=node.address,
            slots=slots,
            rejoined=False,
        )
        for _ in range(slots):
            trial = scheduler._next_trial()
            assert trial is not None
            scheduler._take_lease(node, trial, f"lease-{trial.id}", FROZEN_AT)
    first = scheduler.ledger.trials[7]
    for fold, score in ((1, 0.9712), (2, 0.9655)):
        body = {"trial_id": 7, "lease_id": first.lease_id, "fold": fold, "folds": 5}
        scheduler._on_progress(scheduler.nodes.get("node-a"), body | {"score": score})
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
        return ConsoleApp(open_search(CHECKPOINT), options, clock=lambda: FROZEN_AT)

    return make


@pytest.mark.parametrize(
    ("status", "size", "n"),
    [
        ("running", (80, 24), 1),
        ("paused", (80, 24), 2),
        ("running", (120, 40), 3),
        ("paused", (120, 40), 4),
    ],
    ids=["running-80x24", "paused-80x24", "running-120x40", "paused-120x40"],
)
def test_dashboard(snap_compare, dashboard, status: str, size: tuple[int, int], n: int) -> None:
    assert snap_compare(dashboard(status, n), terminal_size=size, run_before=_settle)
