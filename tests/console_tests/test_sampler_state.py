"""The sampler's state across a resume: CMA-ES goes on with the same optimizer (mean, sigma,
generation), the saved strings round-trip through the checkpoint and the journal, and a bad or
hostile value is skipped with a warning naming file and line, never unpickled."""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from optuna.trial import TrialState

from console.records import TrialRecord, TrialStatus
from console.scheduler.checkpoint import restore_ledger, saved_records
from console.scheduler.journal import Journal, journal_path_for
from console.search import sampler_state
from console.searchfile.toml_io import SavedState, load_search, save_search
from tests.conftest import write_search

FOUR = (
    'C = { type = "float", low = 0.01, high = 100.0, log = true }\n'
    'gamma = { type = "float", low = 0.0001, high = 1.0, log = true }\n'
    'tol = { type = "float", low = 0.0001, high = 0.1, log = true }\n'
    'coef0 = { type = "float", low = -1.0, high = 1.0 }'
)


def score(params: dict) -> float:
    return (
        -((math.log10(params["C"]) - 1) ** 2)
        - (math.log10(params["gamma"]) + 2) ** 2
        - (params["coef0"] ** 2)
    )


def optimizer_of(strategy):
    """What CMA-ES itself would resume from: its own restore over the study's trials."""
    sampler = strategy.bridge.study.sampler
    complete = strategy.bridge.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sampler._restore_optimizer(complete)


def run_cmaes(tmp_path: Path, trials: int):
    spec = load_search(
        write_search(tmp_path, strategy="cmaes", max_trials=200, space=FOUR, estimator="svc",
                     extra_search="parallelism = 2")
    ).spec  # fmt: skip
    _, strategy, _ = restore_ledger(spec, None)
    records = []
    for trial_id in range(trials):
        params = strategy.ask(trial_id)
        value = score(params)
        strategy.tell(trial_id, "ok", value, metrics={"accuracy": value, "fit_time": 1.0})
        records.append(
            TrialRecord(trial_id, params, TrialStatus.OK, value, 0.0, (value,), duration_s=1.0,
                        sampler_attrs=strategy.sampler_attrs(trial_id))
        )  # fmt: skip
    return spec, strategy, records


def test_a_resumed_cmaes_search_goes_on_with_the_same_optimizer(tmp_path: Path) -> None:
    spec, first, records = run_cmaes(tmp_path, 60)  # 10 random trials, then generations of 8
    before = optimizer_of(first)
    assert before is not None and before.generation >= 4
    # Through a real checkpoint: TOML written and read back, then the strategy rebuilt.
    path = tmp_path / "runs" / "t.toml"
    rows = [r.to_row() for r in records]
    save_search(path, spec, SavedState("stopped", spec.config_hash(), "2026-01-01T00:00:00", rows))
    loaded = load_search(path)
    ledger, resumed, warnings = restore_ledger(loaded.spec, loaded.state, path)
    assert warnings == [] and len(ledger) == 60
    after = optimizer_of(resumed)
    assert after is not None, "CMA-ES restarted from the trials instead of resuming"
    assert after.generation == before.generation
    assert np.array_equal(after.mean, before.mean) and after._sigma == before._sigma
    # Reseeded (seed + trials saved): new points, not the first run's next ones replayed.
    nxt = [resumed.ask(trial_id) for trial_id in range(60, 68)]
    again = [first.ask(trial_id) for trial_id in range(60, 68)]
    assert nxt != again
    assert not {json.dumps(p) for p in nxt} & {json.dumps(r.params) for r in records}


def test_checkpoint_growth_per_cmaes_trial_is_small(tmp_path: Path) -> None:
    spec, _, records = run_cmaes(tmp_path, 60)
    sizes = []
    for keep in (True, False):
        rows = [(r if keep else TrialRecord(**{**r.__dict__, "sampler_attrs": {}})).to_row()
                for r in records]  # fmt: skip
        path = tmp_path / f"{keep}.toml"
        save_search(path, spec, SavedState("stopped", spec.config_hash(), "2026-01-01", rows))
        sizes.append(path.stat().st_size)
    per_trial = (sizes[0] - sizes[1]) / len(records)
    assert 0 < per_trial < 2000  # ~4 KB of optimizer per generation of 8, plus its number


def test_the_field_round_trips_and_old_rows_load() -> None:
    attrs = {"cma:generation": "3", "x_for_tell": "[0.5, -1.25]", "NSGAIISampler:generation": "2"}
    record = TrialRecord(4, {"C": 1.0}, TrialStatus.OK, 0.9, sampler_attrs=attrs)
    row = json.loads(json.dumps(record.to_row()))
    assert TrialRecord.from_row(row) == record
    del row["sampler_attrs"]  # a row written before the field existed
    assert TrialRecord.from_row(row).sampler_attrs == {}
    assert sampler_state.decode(attrs) == {
        "cma:generation": 3, "x_for_tell": [0.5, -1.25], "NSGAIISampler:generation": 2
    }  # fmt: skip


class _Marker:
    """A pickle that would create a file if anything unpickled it unchecked."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (str(self.path),))


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"cma:generation": 3}, "must be a string"),
        ({"cma:generation": "-1"}, "expected a generation number"),
        ({"tpe:relative_params:0": "{}"}, "unknown key"),
        ({"x_for_tell": "[NaN]"}, "finite numbers"),
        ({"cma:optimizer:1": "00"}, "not numbered 0, 1, 2"),
        ({"cma:optimizer:0": "zz"}, "hexadecimal"),
        ({"cma:optimizer:0": pickle.dumps([1.0]).hex()}, "not a CMA-ES optimizer"),
        ({f"cma:optimizer:{i}": "00" for i in range(300)}, "keys (at most 256)"),
        ("cma", "must be a table"),
    ],
)
def test_a_bad_value_in_a_journal_line_is_skipped_with_file_and_line(
    tmp_path: Path, bad: object, why: str
) -> None:
    journal_path = journal_path_for(tmp_path / "s.toml")
    journal = Journal(journal_path)
    good = TrialRecord(0, {"C": 1.0}, TrialStatus.OK, 0.8, sampler_attrs={"cma:generation": "1"})
    journal.append({"search": "h", **good.to_row()})
    journal.append({"search": "h", **TrialRecord(1, {"C": 2.0}, TrialStatus.OK, 0.9).to_row(),
                    "sampler_attrs": bad})  # fmt: skip
    journal.close()
    records, _, warnings = saved_records(None, tmp_path / "s.toml", "h")
    assert records[0] == good
    assert records[1].score == 0.9 and records[1].sampler_attrs == {}  # the trial itself kept
    (warning,) = warnings
    assert warning.startswith(f"{journal_path}:2: trial 1: sampler_attrs skipped")
    assert why in warning


def test_a_hostile_optimizer_pickle_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = pickle.dumps(_Marker(marker)).hex()
    row = TrialRecord(1, {"C": 2.0}, TrialStatus.OK, 0.9).to_row()
    row["sampler_attrs"] = {"cma:generation": "1", "cma:optimizer:0": hostile}
    warnings: list[str] = []
    record = TrialRecord.from_row(row, warnings)
    assert record.sampler_attrs == {} and not marker.exists()
    assert "refers to os.makedirs, not a CMA-ES class" in warnings[0]


def test_a_bad_value_in_a_checkpoint_is_skipped_with_a_warning(tmp_path: Path) -> None:
    spec = load_search(write_search(tmp_path, strategy="random", max_trials=3)).spec
    path = tmp_path / "runs" / "t.toml"
    row = TrialRecord(0, {"seconds": 0.0}, TrialStatus.OK, 0.9).to_row()
    save_search(path, spec, SavedState("stopped", spec.config_hash(), "2026-01-01", [row]))
    text = path.read_text().replace('status = "ok"', 'status = "ok"\nsampler_attrs = 7', 1)
    path.write_text(text)
    loaded = load_search(path)
    records, _, warnings = saved_records(loaded.state, path, spec.config_hash())
    assert records[0].score == 0.9 and records[0].sampler_attrs == {}
    assert warnings == [
        f"{path}: trial 0: sampler_attrs skipped (the sampler restarts from it): "
        "must be a table of strings"
    ]


def test_an_inconsistent_optimizer_is_refused() -> None:
    import cmaes

    optimizer = cmaes.CMA(mean=np.zeros(3), sigma=0.5, seed=1)
    good = {"cma:generation": "0", "cma:optimizer:0": pickle.dumps(optimizer).hex()}
    assert sampler_state.check(good) == good
    optimizer._mean = np.array([np.nan, 0.0])  # a wrong dimension, not finite
    bad = {"cma:optimizer:0": pickle.dumps(optimizer).hex()}
    with pytest.raises(sampler_state.SamplerStateError, match="inconsistent CMA-ES state"):
        sampler_state.check(bad)
