"""What goes out next: which trial, which of its folds as one unit, to which node with credit.

A unit is normally the rest of a trial. At the tail of a search (fewer trials left to start than
idle slots) it is one fold, so the last trials spread over every idle slot; with pruning on, a new
trial first runs `prune_gate` folds, and only once the pruner lets it through do its other folds
fan out, one per unit, ahead of new trials.

A part of SearchCore (composed: it acts through the core's collaborators and outputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.scheduler.leases import new_lease_id
from console.scheduler.ledger import Trial
from console.scheduler.nodes import NodeInfo
from console.scheduler.states import SearchState
from console.searchfile.toml_io import SearchSpec
from node import protocol as p

if TYPE_CHECKING:
    from console.scheduler.search_core import SearchCore


class Dispatch:
    def __init__(self, core: SearchCore) -> None:
        self.core = core
        # With pruning on, a new trial first runs this many folds; only once the pruner has let
        # it through do its other folds fan out. 0: no pruning, whole trials go out.
        self.prune_gate = pruning_gate(core.spec)

    def run(self, now: float) -> None:
        """Two passes: first each node gets only trials that did not fail or get lost on it (so
        a retry runs elsewhere when it can), then whatever is left goes to whoever has room."""
        if self.core.state != SearchState.RUNNING:
            return
        nodes = self.core.nodes.with_credit()
        # The tail of a search: fewer trials left to start than idle slots. Single folds then,
        # so the last trials spread over every idle slot instead of one slot each.
        idle = sum(max(0, node.slots - self.core.nodes.busy(node)) for node in nodes)
        spread = (
            len(self.core.ledger.queue) + max(0, self.core.planned - len(self.core.ledger)) < idle
        )
        for elsewhere_only in (True, False):
            for node in self.core.nodes.with_credit():
                if not self._fill(node, elsewhere_only, spread, now):
                    break

    def _fill(self, node: NodeInfo, elsewhere_only: bool, spread: bool, now: float) -> bool:
        """Send `node` units up to its credit; False once no work at all is left to send."""
        for _ in range(self.core.nodes.free(node)):
            trial = self._next_trial(node, elsewhere_only)
            if trial is None:
                return elsewhere_only and self.core.ledger.pending > 0
            if node.node_id in trial.avoid and trial.live:
                # It failed or was lost here and runs elsewhere now: its folds wait for there.
                self.core.ledger.requeue(trial)
                return True
            folds = self._unit_folds(trial, spread)
            attempt = trial.next_attempt(folds)
            whole = len(folds) == self.core.ledger.n_folds
            lease = self.core.take_lease(node, trial, new_lease_id(), attempt, now, folds=folds)
            if not self.gated(trial):
                self.core.ledger.requeue(trial)  # its other folds go next
            acks = self.core.take_acks(node)
            self.core.send(
                node,
                p.Task(
                    trial_id=trial.id,
                    attempt=attempt,
                    lease_id=lease.id,
                    timeout_s=self.core.spec.trial_timeout_s,
                    estimator=self.core.spec.model.estimator,
                    params=self.core.task_params(trial),
                    cv=self.core.spec.cv,
                    metric=self.core.spec.metric,
                    seed=self.core.spec.seed,
                    dataset=self.core.spec.dataset_ref(),
                    search=self.core.search_hash,
                    acks=acks,
                    folds=() if whole else folds,
                    pipeline=self.core.spec.model.pipeline,
                    splitter=self.core.spec.splitter,
                    scoring=self.core.spec.scoring(),
                ),
            )
        return True

    def _unit_folds(self, trial: Trial, spread: bool) -> tuple[int, ...]:
        """Which folds of `trial` the next unit covers: the first `prune_gate` folds of a new
        trial when pruning, then one fold at a time; else every fold left, or one at the tail."""
        left = trial.undispatched(self.core.ledger.n_folds)
        if self.prune_gate and trial.folds_done < self.prune_gate:
            return tuple(left[: self.prune_gate - trial.folds_done])
        return tuple(left[:1]) if self.prune_gate or spread else tuple(left)

    def gated(self, trial: Trial) -> bool:
        """Its first folds are running and the pruner has not judged them yet."""
        return bool(self.prune_gate) and trial.folds_done < self.prune_gate and bool(trial.live)

    def _next_trial(self, node: NodeInfo, elsewhere_only: bool) -> Trial | None:
        trial = self.core.ledger.next_pending(node.node_id, strict=elsewhere_only)
        while trial is not None and self.gated(trial):  # back in line once its folds are judged
            trial = self.core.ledger.next_pending(node.node_id, strict=elsewhere_only)
        if trial is not None or len(self.core.ledger) >= self.core.planned:
            return trial
        params = self.core.strategy.ask(len(self.core.ledger))  # trial ids are dense: the next one
        if params is None:  # the strategy ran out early (e.g. a small grid)
            self.core.planned = len(self.core.ledger)
            return None
        self.core.ledger.add(Trial(id=len(self.core.ledger), params=params))
        return self.core.ledger.next_pending(node.node_id)


def pruning_gate(spec: SearchSpec) -> int:
    """Folds a trial runs before the pruner first judges it (0: pruning is off)."""
    return spec.pruning.min_folds if spec.pruning.enabled else 0
