"""Which edits of a saved search keep its results (console/searchfile: spec_changes, extend)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console.records import TrialRecord
from console.scheduler.journal import Journal, journal_path_for
from console.search.space import ChoiceParam, FloatParam, IntParam
from console.searchfile.extend import ExtendRefused, extend
from console.searchfile.session import CheckpointConflict, open_search
from console.searchfile.spec_changes import compare, inside
from console.searchfile.toml_io import SavedState, load_search, save_search
from tests.conftest import write_search

SPACE = 'seconds = { type = "choice", values = [0.0, 0.01] }'


def _spec(tmp_path: Path, **kwargs):
    return load_search(write_search(tmp_path, name="e", **kwargs)).spec


def _checkpoint(tmp_path: Path, spec, records: list[TrialRecord]) -> Path:
    path = tmp_path / "runs" / f"{spec.name}.toml"
    path.parent.mkdir(exist_ok=True)
    rows = [r.to_row() for r in records]
    save_search(path, spec, SavedState("finished", spec.config_hash(), "2026-01-01T00:00:00", rows))
    return path


def _ok(trial_id: int, **params) -> TrialRecord:
    return TrialRecord(trial_id, params, "ok", score=0.5 + trial_id / 100, node="n1", attempts=1)


def test_budget_and_free_sections_keep_results(tmp_path: Path) -> None:
    old = _spec(tmp_path, strategy="random", max_trials=4, space=SPACE)
    new = _spec(tmp_path, strategy="random", max_trials=9, space=SPACE, local_nodes=3)
    changes = compare(old, new)
    assert changes.budget == (4, 9) and not changes.space and not changes.refused


@pytest.mark.parametrize(
    "edit, key",
    [
        ({"cv": 4}, "search.cv: 3 -> 4"),
        ({"extra_search": "\n"}, None),  # nothing that matters
        ({"dataset": "sklearn:wine"}, "dataset.source"),
        ({"fixed": "{ fail = true }"}, "model.fixed.fail"),
        ({"strategy": "grid"}, "search.strategy"),
        ({"space": 'fail = { type = "choice", values = [false] }'}, "space.seconds: removed"),
        ({"space": SPACE + '\nfail = { type = "choice", values = [false] }'}, "space.fail: added"),
    ],
)
def test_what_changes_a_score_is_refused_naming_the_key(
    tmp_path: Path, edit: dict, key: str | None
) -> None:
    base = {"strategy": "random", "max_trials": 4, "space": SPACE}
    old, new = _spec(tmp_path, **base), _spec(tmp_path, **(base | edit))
    refused = compare(old, new).refused
    if key is None:
        assert refused == []
    else:
        assert any(key in line for line in refused), refused


def test_metric_change_is_refused(tmp_path: Path) -> None:
    old = _spec(tmp_path, strategy="random", max_trials=4, space=SPACE)
    new = _spec(tmp_path, strategy="random", max_trials=4, space=SPACE)
    new = type(new)(**{**new.__dict__, "metric": "f1_macro"})
    assert compare(old, new).refused == ['search.metric: "accuracy" -> "f1_macro"']


def test_inside_the_space() -> None:
    space = {
        "c": ChoiceParam((None, 1, "a")),
        "x": FloatParam(0.1, 1.0, step=0.1),
        "n": IntParam(2, 10, step=2),
    }
    assert inside(space, {"c": None, "x": 0.30000000000000004, "n": 4})
    assert not inside(space, {"c": True})  # True is not 1
    assert not inside(space, {"x": 0.35})  # off the step
    assert not inside(space, {"n": 12})
    assert not inside(space, {"other": 1})
    assert inside(space, {"c": "a"})  # a conditional param left out is not held against it


def test_raised_budget_keeps_ids_scores_and_journaled_trials(tmp_path: Path) -> None:
    old = _spec(tmp_path, strategy="random", max_trials=3, space=SPACE)
    path = _checkpoint(tmp_path, old, [_ok(0, seconds=0.0), _ok(1, seconds=0.01)])
    journal = Journal(journal_path_for(path))  # a killed console's last result
    journal.append({"search": old.config_hash(), **_ok(2, seconds=0.0).to_row()})
    journal.close()
    new = _spec(tmp_path, strategy="random", max_trials=6, space=SPACE)
    result = extend(load_search(path), new)
    assert result.note == "extending: max_trials 3 -> 6, keeping 3 finished trials"
    assert [row["id"] for row in result.state.trials] == [0, 1, 2]
    assert result.state.config_hash == new.config_hash()
    assert result.state.status == "running"


def test_grid_widened_renumbers_kept_points_so_only_new_points_remain(tmp_path: Path) -> None:
    old = _spec(tmp_path, space=SPACE)
    path = _checkpoint(tmp_path, old, [_ok(0, seconds=0.0), _ok(1, seconds=0.01)])
    new = _spec(tmp_path, space='seconds = { type = "choice", values = [0.0, 0.005, 0.01] }')
    result = extend(load_search(path), new)
    assert {row["id"]: row["params"]["seconds"] for row in result.state.trials} == {0: 0.0, 2: 0.01}
    assert "space.seconds [0.0, 0.01] -> [0.0, 0.005, 0.01]" in result.note


def test_finished_trial_outside_the_new_space_is_refused(tmp_path: Path) -> None:
    old = _spec(tmp_path, strategy="random", max_trials=3, space=SPACE)
    path = _checkpoint(tmp_path, old, [_ok(0, seconds=0.01)])
    new = _spec(
        tmp_path,
        strategy="random",
        max_trials=3,
        space='seconds = { type = "choice", values = [0.0] }',
    )
    with pytest.raises(ExtendRefused) as caught:
        extend(load_search(path), new)
    assert "space.seconds: 1 finished trial(s) lie outside" in caught.value.problems[0]


def test_lowering_the_budget_below_finished_trials_is_refused(tmp_path: Path) -> None:
    old = _spec(tmp_path, strategy="random", max_trials=3, space=SPACE)
    path = _checkpoint(tmp_path, old, [_ok(0, seconds=0.0), _ok(2, seconds=0.0)])
    new = _spec(tmp_path, strategy="random", max_trials=2, space=SPACE)
    with pytest.raises(ExtendRefused, match="raise it to at least 3"):
        extend(load_search(path), new)


def test_open_search_extends_or_refuses_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    old = _spec(tmp_path, strategy="random", max_trials=2, space=SPACE)
    path = _checkpoint(tmp_path, old, [_ok(0, seconds=0.0), _ok(1, seconds=0.01)])
    before = path.read_bytes()
    search = write_search(tmp_path, name="e", strategy="random", max_trials=5, space=SPACE)
    opened = open_search(search)
    assert opened.note and opened.note.startswith("extending: max_trials 2 -> 5")
    assert opened.spec.max_trials == 5 and len(opened.state.trials) == 2
    changed = write_search(tmp_path, name="e", strategy="random", max_trials=5, space=SPACE, cv=4)
    with pytest.raises(CheckpointConflict, match=re.escape("search.cv: 3 -> 4")):
        open_search(changed)
    assert path.read_bytes() == before  # opening writes nothing; the scheduler does
