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
