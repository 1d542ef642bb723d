"""A search's parameter importance, kept current as trials score, computed off the event loop.

`poll()` runs at every view refresh (in the event loop). It starts a computation on a worker
thread only when there is news worth it: at least a tenth more scored trials than last time,
and no more often than every RECOMPUTE_EVERY_S (the last trials of a search always count).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.records import TrialStatus
from console.search.importance import MIN_TRIALS, ImportanceUnavailable, param_importances
from console.view.models import Importance

if TYPE_CHECKING:
    from console.scheduler.core import Scheduler

log = logging.getLogger("hpo.importance")

RECOMPUTE_EVERY_S = 2.0
GROWTH = 0.1  # recompute once the scored trials grew by this share


class ImportanceWatch:
    def __init__(self, scheduler: Scheduler, clock: Callable[[], float] = time.monotonic) -> None:
        self.scheduler = scheduler
        self.clock = clock
        self.current = Importance(note=f"after {MIN_TRIALS} scored trials")
        self._changed = True
        self._over = 0  # scored trials the current result is over
        self._at = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._warned = False
        self._closed = False

    def take_change(self) -> Importance | None:
        """The new result, once; None if nothing changed since the last call."""
        self.poll()
        if not self._changed:
            return None
        self._changed = False
        return self.current

    def poll(self) -> None:
        if self._closed or (self._task is not None and not self._task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a feed read outside the console's loop (a test): no worker
            return
        scored = self.scheduler.ledger.done
        if scored == self._over or not self._due(scored):
            return
        pairs = [
            (t.params, t.score)
            for t in self.scheduler.ledger.trials.values()
            if t.status == TrialStatus.OK and t.score is not None
        ]
        self._over, self._at = scored, self.clock()
        self._task = loop.create_task(self._compute(pairs))

    def _due(self, scored: int) -> bool:
        if scored < MIN_TRIALS or self.scheduler.state == "finished":
            return True  # cheap (a note), or the last word
        grown = scored - self._over >= max(1, int(self._over * GROWTH))
        return grown and self.clock() - self._at >= RECOMPUTE_EVERY_S

    async def _compute(self, pairs: list[tuple[dict[str, Any], float]]) -> None:
        space = self.scheduler.spec.space
        try:
            ranked = await asyncio.to_thread(param_importances, pairs, space)
            result = Importance(ranked=tuple(ranked), over=len(pairs))
        except ImportanceUnavailable as why:
            result = Importance(over=len(pairs), note=str(why))
        except Exception as exc:  # Optuna's evaluator failing must not take the console down
            if not self._warned:
                log.warning("parameter importance failed: %s", exc, exc_info=True)
                self._warned = True
            result = Importance(over=len(pairs), note=f"unavailable: {type(exc).__name__}: {exc}")
        self.current = result
        self._changed = True

    def close(self) -> None:
        """No more computations: cancel the one running, start none after."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
