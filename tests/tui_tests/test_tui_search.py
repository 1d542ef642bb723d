"""System test: the TUI with two real local nodes runs a real search to the end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console.searchfile.toml_io import load_search
from console.tui.widgets.best_panel import BestPanel
from console.tui.widgets.nodes_table import NodesTable
from console.tui.widgets.status_bar import StatusBar
from console.tui.widgets.trials_table import TrialsTable
from tests.conftest import write_search
from tests.tui_tests.conftest import SIZE, host_of, log_text, make_app, table_rows, text_of, until


def test_tui_runs_a_real_search_to_the_end(tmp_path: Path) -> None:
    search = write_search(
        tmp_path,
        estimator="logistic_regression",
        space='C = { type = "choice", values = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0] }',
        fixed="{ max_iter = 500 }",
    )
    checkpoint = tmp_path / "runs" / "t.toml"
    app = make_app(search, checkpoint, local_nodes=2)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.search_state == "finished", 60, "search finished")
            await pilot.pause(0.3)  # let the refresh timer draw the final state
            await until(
                pilot,
                lambda: "FINISHED" in text_of(app.query_one(StatusBar)),
                5,
                "status bar shows finished",
            )
            assert "6/6" in text_of(app.query_one(StatusBar))
            nodes = {row[0]: row for row in table_rows(app.query_one(NodesTable))}
            # Both ran; on a loaded machine one may join only after the other did all six.
            assert host_of(app).running.local is not None
            assert len(host_of(app).running.local.running()) == 2
            assert nodes and set(nodes) <= {"local-1", "local-2"}
            assert sum(int(row[3]) for row in nodes.values()) == 6  # trials done per node
            assert len(table_rows(app.query_one(TrialsTable))) == 6
            best_text = text_of(app.query_one(BestPanel))
            assert "joined" in log_text(app)
            return best_text

    best_text = asyncio.run(scenario())
    assert host_of(app).running is not None and host_of(app).running.local is not None
    assert host_of(app).running.local.running() == []  # the app stopped its nodes on the way out
    rows = load_search(checkpoint).state.trials
    assert len(rows) == 6 and all(row["status"] == "ok" for row in rows)
    best = max(rows, key=lambda row: row["score"])
    assert f"{best['score']:.4f}" in best_text
    assert f"trial {best['id']} on {best['node']}" in best_text
    assert f"C={best['params']['C']:.4g}" in best_text
