"""The front end's mirror of a search: updates in order, a resync that does not repeat the log."""

from __future__ import annotations

from console.view.mirror import SearchMirror
from console.view.models import FullState, HostView, LogLine, SearchInfo, Snapshot, Update

INFO = SearchInfo("s", "accuracy", 3, 2, ("x",))
SNAPSHOT = Snapshot(
    name="s",
    strategy="random",
    state="running",
    planned=10,
    done=0,
    failed=0,
    running=0,
    pending=10,
    rate_per_s=0.0,
    eta_s=None,
    elapsed_s=0.0,
    best_trial=None,
    best_score=None,
    best_std=None,
    best_params={},
    best_node=None,
    nodes=(),
    dropped_messages=0,
    checkpoint="runs/s.toml",
    endpoint="tcp://127.0.0.1:5555",
    link="",
    refused_connections=0,
)


def lines(*texts: str) -> tuple[LogLine, ...]:
    return tuple(LogLine(float(i), text, "info") for i, text in enumerate(texts))


def update(seq: int, *texts: str, generation: int = 1) -> Update:
    return Update(seq, 0.0, SNAPSHOT, HostView(), log=lines(*texts), generation=generation)


def full(seq: int, log: tuple[LogLine, ...], total: int, generation: int = 1) -> FullState:
    return FullState(generation, INFO, (), log, update(seq, generation=generation), log_total=total)


def shown(mirror: SearchMirror) -> list[str]:
    return [line.text for line in mirror.take().log]


def test_a_resync_adds_only_the_lines_the_front_end_missed() -> None:
    mirror = SearchMirror()
    assert mirror.apply(full(1, lines("a", "b"), 2))
    assert shown(mirror) == ["a", "b"]  # attached: the recent log
    assert mirror.apply(update(2, "c"))
    assert not mirror.apply(update(4, "e"))  # seq 3 ("d") went missing: ask for a FullState
    assert mirror.apply(full(4, lines("a", "b", "c", "d", "e"), 5))
    assert shown(mirror) == ["c", "d", "e"]  # "c" from its update; only "d", "e" are new
    assert mirror.apply(full(4, lines("a", "b", "c", "d", "e"), 5))
    assert shown(mirror) == []  # nothing new since


def test_a_resync_after_more_than_the_recent_log_shows_all_it_has() -> None:
    mirror = SearchMirror()
    assert mirror.apply(full(1, lines("a"), 1))
    mirror.take()
    assert mirror.apply(full(9, lines("x", "y"), 500))  # 499 lines missed, the feed keeps 2
    assert shown(mirror) == ["x", "y"]


def test_another_searchs_full_state_shows_its_whole_recent_log() -> None:
    mirror = SearchMirror()
    assert mirror.apply(full(1, lines("a", "b"), 2))
    mirror.take()
    assert mirror.apply(update(2, "the old search's last line"))  # not drawn yet
    assert mirror.apply(full(1, lines("new search"), 1, generation=2))
    assert shown(mirror) == ["the old search's last line", "new search"]
