"""The pruning decision: `should_prune` per pruner (grid and random too), and [search.pruning]."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.search import ChoiceParam, FloatParam, make_strategy
from console.search.pruning import PruningSpec
from console.searchfile.toml_io import SearchFileError, load_search
from tests.conftest import write_search

SPACE = {"C": FloatParam(0.01, 100.0, log=True), "k": ChoiceParam(("a", "b", "c", "d", "e"))}
MEDIAN = PruningSpec("median", min_trials=3, min_folds=1, percentile=25.0)


def finish(strategy, trial_id: int, folds: list[float]) -> None:
    strategy.ask(trial_id)
    total = 0.0
    for fold, value in enumerate(folds, start=1):
        total += value
        assert not strategy.should_prune(trial_id, fold, total / fold)
    strategy.tell(trial_id, "ok", total / len(folds))


@pytest.mark.parametrize("name", ["tpe", "random", "grid"])
def test_median_prunes_a_clearly_worse_trial_only(name: str) -> None:
    space = SPACE if name != "grid" else {"k": SPACE["k"], "j": ChoiceParam((1, 2, 3))}
    strategy = make_strategy(name, space, seed=1, max_trials=12, pruning=MEDIAN)
    for trial_id, base in enumerate([0.80, 0.85, 0.90, 0.95]):
        finish(strategy, trial_id, [base, base, base])
    strategy.ask(4)
    strategy.ask(5)
    # Just below the median (0.875) but above the 25th percentile: it goes on.
    assert not strategy.should_prune(4, 1, 0.84)
    assert not strategy.should_prune(4, 2, 0.84)
    # Clearly worse than three in four of the others at the same fold: pruned.
    assert strategy.should_prune(5, 1, 0.70)


def test_nothing_is_pruned_before_min_trials_or_when_off() -> None:
    strategy = make_strategy("tpe", SPACE, seed=1, max_trials=12, pruning=MEDIAN)
    finish(strategy, 0, [0.9, 0.9])
    finish(strategy, 1, [0.9, 0.9])
    strategy.ask(2)
    assert not strategy.should_prune(2, 1, 0.1)  # only two trials finished, three needed
    off = make_strategy("tpe", SPACE, seed=1, max_trials=12)
    for trial_id in range(5):
        finish(off, trial_id, [0.9, 0.9])
    off.ask(5)
    assert not off.should_prune(5, 1, 0.0)
    assert not make_strategy("random", SPACE, 1, 5).should_prune(0, 1, 0.0)


def test_min_folds_holds_the_pruner_back() -> None:
    spec = PruningSpec("median", min_trials=1, min_folds=2)
    strategy = make_strategy("random", SPACE, seed=1, max_trials=12, pruning=spec)
    for trial_id in range(3):
        finish(strategy, trial_id, [0.9, 0.9, 0.9])
    strategy.ask(3)
    assert not strategy.should_prune(3, 1, 0.1)  # fold 1 is inside the warm-up
    assert strategy.should_prune(3, 2, 0.1)


def test_halving_prunes_the_bottom_of_its_rung() -> None:
    spec = PruningSpec("halving", min_trials=0, min_folds=1)
    strategy = make_strategy("random", SPACE, seed=1, max_trials=20, pruning=spec)
    for trial_id, base in enumerate([0.9, 0.8, 0.85]):
        finish_or_not = [base] * 9
        strategy.ask(trial_id)
        for fold, value in enumerate(finish_or_not, start=1):
            strategy.should_prune(trial_id, fold, value)
        strategy.tell(trial_id, "ok", base)
    strategy.ask(3)
    assert strategy.should_prune(3, 1, 0.1)


def test_a_pruned_trial_is_told_and_shows_in_the_study() -> None:
    strategy = make_strategy("tpe", SPACE, seed=1, max_trials=12, pruning=MEDIAN)
    for trial_id in range(4):
        finish(strategy, trial_id, [0.9, 0.9])
    strategy.ask(4)
    assert strategy.should_prune(4, 1, 0.2)
    strategy.tell(4, "pruned", None)
    last = strategy.bridge.study.get_trials()[-1]
    assert (last.state.name, last.intermediate_values) == ("PRUNED", {1: 0.2})


# ---- [search.pruning] ------------------------------------------------------------------------


def load(tmp_path: Path, pruning: str, cv: int = 5):
    path = write_search(
        tmp_path, strategy="tpe", max_trials=10, cv=cv, extra_search=f"[search.pruning]\n{pruning}"
    )
    return load_search(path).spec


def errors(tmp_path: Path, pruning: str, cv: int = 5) -> str:
    with pytest.raises(SearchFileError) as caught:
        load(tmp_path, pruning, cv)
    return str(caught.value)


def test_pruning_table_parses_and_defaults_to_median(tmp_path: Path) -> None:
    assert load(tmp_path, "min_folds = 2").pruning == PruningSpec("median", min_folds=2)
    spec = load(tmp_path, 'pruner = "wilcoxon"\np_threshold = 0.05', cv=10)
    assert spec.pruning == PruningSpec("wilcoxon", p_threshold=0.05)
    assert load(tmp_path, 'pruner = "none"').pruning.enabled is False
    hashes = {load(tmp_path, text).config_hash() for text in ('pruner = "none"', "")}
    assert len(hashes) == 2  # an empty table means median: a different search from none


@pytest.mark.parametrize(
    ("pruning", "cv", "message"),
    [
        ("min_fold = 2", 5, "search.pruning.min_fold: unknown key (did you mean 'min_folds'?)"),
        ('pruner = "hyperband"', 5, "search.pruning.pruner: must be one of"),
        ('pruner = "wilcoxon"', 5, "search.pruning.pruner: wilcoxon needs 10-fold CV"),
        ('pruner = "halving"', 5, "search.pruning.pruner: halving needs at least 9 folds"),
        ("min_folds = 5", 5, "search.pruning.min_folds: must be less than cv (5)"),
        ("percentile = 150", 5, "search.pruning.percentile: must be between 0 and 100"),
    ],
)
def test_pruning_errors_name_the_key(tmp_path: Path, pruning: str, cv: int, message: str) -> None:
    assert message in errors(tmp_path, pruning, cv)


def test_strategy_defaults_to_tpe_and_random_files_still_load(tmp_path: Path) -> None:
    path = write_search(tmp_path, strategy="random", max_trials=4)
    assert load_search(path).spec.strategy == "random"
    text = path.read_text().replace('strategy = "random"\n', "")
    path.write_text(text)
    assert load_search(path).spec.strategy == "tpe"


@pytest.mark.parametrize("name", ["nsga2", "cmaes"])
def test_strategies_that_cannot_run_are_errors_naming_the_key(tmp_path: Path, name: str) -> None:
    path = write_search(
        tmp_path, strategy=name, max_trials=4, space='k = { type = "choice", values = [1, 2] }'
    )
    with pytest.raises(SearchFileError) as caught:
        load_search(path)
    key = "search.objectives" if name == "nsga2" else "space.k"  # nsga2 needs objectives
    assert f": {key}: " in str(caught.value)


def test_pruning_and_parallelism_survive_a_checkpoint(tmp_path: Path) -> None:
    from console.searchfile.toml_io import SavedState, save_search

    path = write_search(
        tmp_path, strategy="tpe", max_trials=6,
        extra_search="parallelism = 3\n[search.pruning]\nmin_folds = 2",
    )  # fmt: skip
    spec = load_search(path).spec
    saved = tmp_path / "runs" / "t.toml"
    save_search(saved, spec, SavedState("stopped", spec.config_hash(), "2026-01-01T00:00:00Z"))
    again = load_search(saved).spec
    assert (again.pruning, again.parallelism) == (PruningSpec("median", min_folds=2), 3)
    assert again.config_hash() == spec.config_hash()
    assert again.slots_hint() == 3
