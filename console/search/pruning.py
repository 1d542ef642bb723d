"""The `[search.pruning]` settings: which pruner stops a trial early, and its forgiving margins.

Pure data and validation (no Optuna import), so reading a search file stays cheap; the pruner
itself is built in optuna_study.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PRUNERS = ("median", "wilcoxon", "halving", "none")


@dataclass(frozen=True)
class PruningSpec:
    """`pruner = "none"` (the default) turns pruning off: `should_prune` is then always False."""

    pruner: str = "none"
    # Trials that must finish before anything is pruned (the median of two trials means little).
    min_trials: int = 5
    # Folds every trial runs before the pruner may stop it (one fold is a noisy estimate).
    min_folds: int = 1
    # median: prune only below this percentile of the other trials' running means at the same
    # fold (50 is the plain median; the default 25 is forgiving: clearly worse, not just below).
    percentile: float = 25.0
    # wilcoxon: the p-value below which a trial counts as worse than the best one.
    p_threshold: float = 0.1

    @property
    def enabled(self) -> bool:
        return self.pruner != "none"

    def to_toml(self) -> dict[str, Any]:
        return asdict(self)


def pruning_errors(spec: PruningSpec, cv: int | None, where: str = "search.pruning") -> list[str]:
    """Why this pruner cannot work with `cv` folds, as 'dotted.key: message' strings."""
    if cv is None or not spec.enabled:
        return []
    if spec.pruner == "wilcoxon" and cv < 10:
        # A signed-rank test over fewer than ten paired folds cannot reach a useful p-value.
        return [f"{where}.pruner: wilcoxon needs 10-fold CV (cv >= 10), got cv = {cv}"]
    if spec.pruner == "halving" and cv < 9:
        # Successive halving needs rungs: with reduction factor 3, at least 1, 3 and 9 steps.
        return [f"{where}.pruner: halving needs at least 9 folds (cv >= 9), got cv = {cv}"]
    if spec.min_folds >= cv:
        return [f"{where}.min_folds: must be less than cv ({cv}) or nothing can be pruned"]
    return []


def read_pruning(table: Any, cv: int | None, errors: list[str]) -> PruningSpec | None:
    """[search.pruning]: pruner, min_trials, min_folds, percentile, p_threshold."""
    from console.searchfile.tomlcheck import Section  # here: tomlcheck imports this package's space

    d = PruningSpec()
    if table is None:  # no [search.pruning] (or not a table: already reported)
        return d
    s = Section(table, "search.pruning", errors)
    pruner = s.choice("pruner", PRUNERS, default="median")  # the table itself turns it on
    spec = PruningSpec(
        pruner=pruner,
        min_trials=s.integer("min_trials", default=d.min_trials, minimum=0),
        min_folds=s.integer("min_folds", default=d.min_folds, minimum=1),
        percentile=s.number("percentile", default=d.percentile),
        p_threshold=s.number("p_threshold", default=d.p_threshold, positive=True),
    )
    if spec.percentile is not None and not 0 < spec.percentile < 100:
        s.error("percentile", f"must be between 0 and 100 (got {spec.percentile})")
    if spec.p_threshold is not None and not spec.p_threshold < 1:
        s.error("p_threshold", f"must be between 0 and 1 (got {spec.p_threshold})")
    if None not in (pruner, spec.min_folds):
        errors.extend(pruning_errors(spec, cv))
    return spec if s.finish() else None
