"""What grid and random search share: their points follow from (space, seed, trial id) alone."""

from __future__ import annotations

from collections.abc import Mapping


class FixedPlan:
    """A strategy that learns nothing from results and keeps no sampler state. Pruning, when on,
    wraps it (optuna_study.WithPruning) rather than living here."""

    def tell(
        self,
        trial_id: int,
        status: str,
        score: float | None,
        *,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Nothing to learn: the plan is fixed."""

    def sampler_attrs(self, trial_id: int) -> dict[str, str]:
        return {}  # its state is (space, seed): nothing to save per trial

    def should_prune(self, trial_id: int, folds_done: int, running_mean: float) -> bool:
        return False
