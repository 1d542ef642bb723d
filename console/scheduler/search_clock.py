"""The search's own clock: how long it has been searching, carried across resumes.

Elapsed time is search time, not time since this console started: it stops when the search
finishes, stops, or is paused with nothing left running (a search paused for the night has not
been searching), and a resumed search goes on from what its checkpoint saved. Log stamps, "found
at" and screenshot names all read it, so they never jump back on resume. The scheduler stops it
the moment the state changes, but starts it only at its loop's next round: a finished search
that is reopened says "running" for one round before it says "finished" again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from console.scheduler.states import SearchState

if TYPE_CHECKING:
    from console.scheduler.trial import Trial
    from console.searchfile.toml_io import SavedState


class SearchClock:
    """Accumulates search time from a monotonic `clock` while `counting`."""

    def __init__(
        self, clock: Callable[[], float], carried_s: float = 0.0, counting: bool = True
    ) -> None:
        self._clock = clock
        self._base = max(0.0, carried_s)  # search time up to `_since` (or in all, when stopped)
        # When counting last started; None: not counting.
        self._since: float | None = clock() if counting else None

    @property
    def counting(self) -> bool:
        return self._since is not None

    def elapsed(self, at: float | None = None) -> float:
        """Search time at clock time `at` (default now); never before the carried time."""
        if self._since is None:
            return self._base
        at = self._clock() if at is None else at
        return self._base + max(0.0, at - self._since)

    def set_counting(self, counting: bool, at: float) -> None:
        """Start or stop accumulating at clock time `at` (idempotent)."""
        if counting and self._since is None:
            self._since = at
        elif not counting and self._since is not None:
            self._base = self.elapsed(at)
            self._since = None

    def follow(self, state: str, running_trials: int, at: float) -> None:
        """Count while the search runs, and while a paused search still has trials running."""
        paused_busy = state == SearchState.PAUSED and running_trials > 0
        self.set_counting(state == SearchState.RUNNING or paused_busy, at)


def restored_best_found(state: SavedState | None, best: Trial | None) -> tuple[int, float] | None:
    """The saved (trial id, search time) of the best trial, while it is still the best (the
    journal may have brought a better one since the checkpoint)."""
    if state is None or state.best_found is None or best is None:
        return None
    return state.best_found if state.best_found[0] == best.id else None
