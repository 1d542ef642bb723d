"""Fold-level pruning end to end: real nodes, a real Optuna pruner, a real checkpoint.

A grid of decision trees on iris where the last point (max_depth = 1) is far worse than the five
before it. With one slot the order is fixed: five trials finish, then the stump's first fold is
judged against them and the trial is pruned there, its other folds never run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import NodeProcs, write_search
from tests.system_tests.fault_helpers import Consoles, rows_by_id
from tests.system_tests.test_fold_faults import UNIT_LINE

pytestmark = pytest.mark.timeout(120)

PRUNING = '\n[search.pruning]\npruner = "median"\nmin_trials = 5\nmin_folds = 1\n'


def test_a_hopeless_trial_is_pruned_after_its_first_fold_and_never_best(
    tmp_path: Path, nodes: NodeProcs, consoles: Consoles
) -> None:
    search = write_search(
        tmp_path,
        estimator="decision_tree",
        space='max_depth = { type = "choice", values = [4, 5, 6, 7, 8, 1] }',
        cv=5,
        extra_search=PRUNING,
    )
    console = consoles.start(search)
    nodes.start(console.endpoint, "n1", slots=1)
    code = console.wait(90, "the search to finish")
    assert code == 0, console.transcript()
    rows = rows_by_id(tmp_path / "runs" / "t.toml")
    assert [rows[i]["status"] for i in range(6)] == ["ok"] * 5 + ["pruned"], rows
    stump = rows[5]
    assert len(stump["fold_scores"]) == 1 and "score" not in stump, stump
    assert "trial 5 pruned after 1 of 5 folds" in console.output()
    # Its other folds never ran: the node was given fold 1 of trial 5 and nothing more of it.
    units = [m[2] for m in UNIT_LINE.finditer(nodes.log("n1")) if m[1] == "5"]
    assert units == ["1"], units
    best = max((r for r in rows.values() if r["status"] == "ok"), key=lambda r: r["score"])
    assert f"best trial {best['id']}:" in console.output()
    assert "5 scored, 0 failed, 1 pruned, 0 not run" in console.output()
