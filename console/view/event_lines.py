"""The log line for each scheduler event worth one: the console's side, for every front end."""

from __future__ import annotations

from console.scheduler import events as ev


def describe(event: ev.Event) -> str | None:
    """One log line for the events worth a line; None for the high-rate ones."""
    match event:
        case ev.NodeJoined(node_id=n, host=h, address=a, slots=s, rejoined=r, warning=w):
            joined = f"node {n} ({h} at {a}, {s} slot(s)) {'rejoined' if r else 'joined'}"
            return f"{joined}; WARNING: it {w}" if w else joined
        case ev.NodeLost(node_id=n, reason=why, requeued=ids):
            return (
                f"node {n} gone ({why}); requeued trials {list(ids)}"
                if ids
                else f"node {n} gone ({why})"
            )
        case ev.NodeQuarantined(node_id=n, strikes=k, last_failure=why):
            return (
                f"node {n} quarantined after {k} faults in a row (last: {why}); "
                "it gets no more trials until released"
            )
        case ev.TrialScored(trial_id=t, score=s, std=sd, node_id=n, is_best=True):
            return f"new best: trial {t} scored {s:.4f} +- {sd:.4f} on {n}"
        case ev.TrialFailed(trial_id=t, status=st, error=e, final=final):
            return f"trial {t} {st}{'' if final else ' (will retry)'}: {e.splitlines()[-1][:200]}"
        case ev.TrialPruned(trial_id=t, folds_done=k, folds=n, running_mean=m):
            return f"trial {t} pruned after {k} of {n} folds (mean so far {m:.4f})"
        case ev.TrialRequeued(trial_id=t, reason=why):
            return f"trial {t} requeued: {why}"
        case ev.SearchStateChanged(state="paused"):
            return "search paused: running trials finish and are recorded, nothing new starts"
        case ev.SearchStateChanged(state=s):
            return f"search {s}"
        case ev.MessageDropped(peer=p, reason=why, total_dropped=n, repeats=1):
            return f"dropped a bad message from peer {p} ({why}); {n} dropped so far"
        case ev.MessageDropped(peer=p, reason=why, total_dropped=n, repeats=k):
            return f"dropped {k} more bad messages from peer {p} (last: {why}); {n} so far"
        case ev.ConnectionRefused(peer=p, reason=why, repeats=n):
            again = f" ({n} times since the last report)" if n > 1 else ""
            return f"refused a connection from {p}: {why}{again}"
        case ev.SchedulerError(message=m):
            return f"error: {m}"
        case ev.SearchWarning(message=m):
            return f"warning: {m}"
        case ev.SearchStalled(reason=None):
            return "no longer stalled: a node can take work again"
        case ev.SearchStalled(reason=why):
            return f"stalled: no node can take the work left: {why}"
    return None
