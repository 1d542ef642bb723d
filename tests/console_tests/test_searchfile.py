"""Loading, round-tripping and atomically saving search files."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import pytest

from console import atomicfile
from console.search import ChoiceParam, FloatParam, IntParam
from console.searchfile import toml_io as searchfile
from console.searchfile.toml_io import (
    SavedState,
    SearchFileError,
    StateMismatchError,
    load_search,
    save_search,
    spec_to_toml_dict,
)
from tests.console_tests.searchfile_helpers import (
    FILES,
    PROJECT_SAMPLE,
    SAMPLE,
    state_for,
    trial,
)

# ---- good files ------------------------------------------------------------------------------


def test_project_sample_loads():
    loaded = load_search(PROJECT_SAMPLE)
    spec = loaded.spec
    assert loaded.state is None
    assert (spec.name, spec.strategy, spec.max_trials, spec.seed) == (
        "digits-forest",
        "random",
        40,
        7,
    )
    assert (spec.metric, spec.cv) == ("accuracy", 5)
    assert spec.dataset_ref() == {"source": "sklearn:digits", "target": None, "sha256": None}
    assert spec.model.estimator == "random_forest"
    assert spec.model.fixed == {"n_jobs": 1}
    assert spec.space == {
        "n_estimators": IntParam(50, 400, log=True),
        "max_depth": ChoiceParam((None, 8, 16, 32)),
        "min_samples_split": IntParam(2, 10),
        "max_features": ChoiceParam(("sqrt", "log2", 0.5)),
    }
    assert spec.cluster.local_nodes == 2
    assert spec.export.bucket == "models"


def test_defaults_fill_in_optional_keys(tmp_path):
    path = tmp_path / "min.toml"
    path.write_text(
        '[search]\nname = "m"\nmax_trials = 3\n[dataset]\nsource = "s3://data/x/train.csv"\n'
        '[model]\nestimator = "ridge"\n[space]\nalpha = { type = "float", low = 0.1, high = 1.0 }\n'
        '[cluster]\nbind = "tcp://127.0.0.1:0"\n'
    )
    with pytest.raises(SearchFileError, match="'accuracy' does not suit a regressor like ridge"):
        load_search(path)
    path.write_text(path.read_text().replace("max_trials = 3", 'max_trials = 3\nmetric = "r2"'))
    spec = load_search(path).spec
    assert (spec.strategy, spec.seed, spec.cv) == ("tpe", 0, 5)  # tpe: the default
    assert (spec.trial_timeout_s, spec.max_attempts) == (600.0, 3)
    assert spec.dataset.target == "target"  # the default column for file and s3 sources
    assert spec.model.fixed == {}
    assert spec.cluster == searchfile.ClusterSpec(bind="tcp://127.0.0.1:0")
    assert spec.export == searchfile.ExportSpec()


def test_full_file_reads_every_kind_of_value():
    spec = load_search(FILES / "full.toml").spec
    assert spec.strategy == "grid" and spec.max_trials is None
    assert spec.dataset.sha256 == "abcdef0123456789" * 4  # normalised to lower case
    assert spec.model.fixed == {
        "hidden_layer_sizes": [64, 32],
        "early_stopping": True,
        "random_state": None,
    }
    assert spec.space["max_fun"] == ChoiceParam((15000, None))
    assert spec.space["max_iter"] == IntParam(100, 300, step=100)
    assert spec.cluster.local_slots == 4 and spec.cluster.keys_dir == "keys"
    assert spec.export.auto is True


# ---- round trip ------------------------------------------------------------------------------


def test_round_trip_is_exact(tmp_path):
    spec = load_search(FILES / "full.toml").spec
    spec = dataclasses.replace(
        spec,
        max_trials=5,
        model=dataclasses.replace(
            spec.model,
            # Values are the estimator's business; any nesting must survive the trip.
            fixed=spec.model.fixed | {"hidden_layer_sizes": [{"a": None}, [1.5, None, False]]},
        ),
    )
    trials = [
        trial(0, status="ok", score=0.1 + 0.2, std=1e-300, fold_scores=[0.5, 1 / 3, 2.0]),
        trial(
            1,
            params={"activation": "tanh", "alpha": 0.0003, "max_iter": 2**40, "max_fun": None},
            status="failed",
            attempts=3,
            failures=3,
            node="host-1/7",
            duration_s=12.25,
            error='ValueError: bad "input"\n  at line 2\tünïcode',
            finished_at="2025-01-02T03:04:05.123456+00:00",
        ),
        trial(2),
    ]
    path = tmp_path / "runs" / "full.toml"  # the folder does not exist yet
    save_search(path, spec, state_for(spec, trials, status="paused"))
    loaded = load_search(path)
    assert loaded.path == path
    assert loaded.spec == spec
    assert loaded.state == state_for(spec, trials, status="paused")
    assert loaded.state.trials[0]["score"] == 0.30000000000000004
    assert path.read_text().startswith("# Written by zmq-hpo: reopen this file")
    # Saving what was loaded gives the same bytes.
    first = path.read_text()
    save_search(path, loaded.spec, loaded.state)
    assert path.read_text() == first


def test_round_trip_of_sample_and_nan_score(tmp_path):
    spec = load_search(SAMPLE).spec
    row = trial(0, params={"C": 1.5, "gamma": 1e-05}, status="ok", score=math.nan)
    save_search(tmp_path / "s.toml", spec, state_for(spec, [row]))
    loaded = load_search(tmp_path / "s.toml")
    assert loaded.spec == spec
    assert math.isnan(loaded.state.trials[0]["score"])


def test_spec_to_toml_dict_writes_none_as_a_string():
    spec = load_search(FILES / "full.toml").spec
    document = spec_to_toml_dict(spec)
    assert document["model"]["fixed"]["random_state"] == "None"
    assert document["space"]["max_fun"] == {"type": "choice", "values": [15000, "None"]}
    assert "max_trials" not in document["search"]  # unset optional keys are left out


def test_trials_missing_optional_fields_get_defaults(tmp_path):
    spec = load_search(SAMPLE).spec
    save_search(tmp_path / "s.toml", spec, state_for(spec, []))
    with (tmp_path / "s.toml").open("a") as file:
        file.write('\n[[trials]]\nid = 4\nstatus = "ok"\nscore = "None"\n[trials.params]\nC = 1\n')
    (row,) = load_search(tmp_path / "s.toml").state.trials
    assert row == trial(4, params={"C": 1}, status="ok")


# ---- config hash -----------------------------------------------------------------------------


def test_config_hash_tracks_results_not_cluster():
    spec = load_search(SAMPLE).spec
    digest = spec.config_hash()
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert load_search(SAMPLE).spec.config_hash() == digest  # stable across loads
    replace = dataclasses.replace
    same = [
        replace(spec, cluster=replace(spec.cluster, local_nodes=8, local_slots=3)),
        replace(spec, export=replace(spec.export, auto=True)),
        replace(spec, trial_timeout_s=5.0, max_attempts=9, name="other"),
    ]
    assert all(other.config_hash() == digest for other in same)
    different = [
        replace(spec, space=spec.space | {"C": FloatParam(0.01, 10.0, log=True)}),
        replace(spec, space=dict(reversed(spec.space.items()))),  # order changes the draws
        replace(spec, seed=8),
        replace(spec, max_trials=41),
        replace(spec, metric="f1_macro"),
        replace(spec, model=replace(spec.model, fixed={"kernel": "poly"})),
    ]
    assert len({other.config_hash() for other in different} | {digest}) == len(different) + 1


def test_changed_spec_refuses_saved_state(tmp_path):
    spec = load_search(SAMPLE).spec
    path = tmp_path / "s.toml"
    save_search(path, spec, state_for(spec, [trial(0, params={"C": 1.0, "gamma": 0.01})]))
    # Changing how many local nodes run is fine on resume...
    path.write_text(path.read_text().replace("local_nodes = 2", "local_nodes = 5"))
    assert load_search(path).spec.cluster.local_nodes == 5
    # ...changing the space is not: the saved trials belong to another search.
    path.write_text(path.read_text().replace("high = 100.0", "high = 10.0"))
    with pytest.raises(StateMismatchError) as caught:
        load_search(path)
    (error,) = caught.value.errors
    assert "state.config_hash: state was produced by a different spec" in error
    assert error.startswith(f"{path}:")
    with pytest.raises(ValueError, match="is not this spec's"):
        save_search(path, spec, SavedState("running", "0" * 16, "2025-01-01T00:00:00", []))


# ---- atomic save -----------------------------------------------------------------------------


def saved_sample(tmp_path) -> tuple[Path, object, bytes]:
    spec = load_search(SAMPLE).spec
    path = tmp_path / "run.toml"
    save_search(path, spec, state_for(spec, [trial(0, params={"C": 1.0, "gamma": 0.01})]))
    return path, spec, path.read_bytes()


def test_unencodable_value_leaves_old_file_and_no_temp_file(tmp_path):
    path, spec, before = saved_sample(tmp_path)
    bad = trial(1, params={"C": object(), "gamma": 0.01})
    with pytest.raises(TypeError):
        save_search(path, spec, state_for(spec, [bad]))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.toml"]


def test_invalid_state_is_refused_before_writing(tmp_path):
    path, spec, before = saved_sample(tmp_path)
    with pytest.raises(ValueError, match=r"trials\[0\]\.status"):
        save_search(path, spec, state_for(spec, [trial(0, status="running")]))
    with pytest.raises(ValueError, match="unknown keys"):
        save_search(path, spec, state_for(spec, [trial(0) | {"lease_id": "x"}]))
    assert path.read_bytes() == before


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch, failing):
    path, spec, before = saved_sample(tmp_path)

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomicfile.os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        save_search(path, spec, state_for(spec, [trial(0, params={"C": 2.0, "gamma": 0.01})]))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.toml"]


def test_save_keeps_file_mode(tmp_path):
    path, spec, _ = saved_sample(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    save_search(path, spec, state_for(spec, []))
    assert path.stat().st_mode & 0o777 == 0o600
