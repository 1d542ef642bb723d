"""Every command a front end can send, who may send it, and what it does to the search.

A command is a name and a small dict of arguments, the same from the in-process TUI and over the
control socket. Arguments are checked here, so a malformed one is refused with a reason, never
raised into the console. Read-only operators may send only the queries (`READ_ONLY`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.results import pareto_ids
from console.searchfile.session import CheckpointConflict, open_search
from console.searchfile.toml_io import SearchFileError, load_search
from console.store.export import ExportError, store_config
from console.view.feed import node_detail, trial_view
from console.view.models import Reply, TrialDetail

if TYPE_CHECKING:
    from console.attach.host import ConsoleHost

log = logging.getLogger("hpo.commands")

MAX_PATH_CHARS = 4096
Handler = Callable[["ConsoleHost", dict[str, Any]], Awaitable[Reply]]
COMMANDS: dict[str, Handler] = {}
READ_ONLY = {"trial_detail", "node_detail", "check_open", "check_save_as"}  # queries


class BadArguments(ValueError):
    pass


def command(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = handler
        return handler

    return register


async def run(host: ConsoleHost, name: str, args: Any, who: str, full_control: bool) -> Reply:
    """Carry out one command for `who`; a refusal (unknown, not allowed, bad args) is a Reply."""
    handler = COMMANDS.get(name) if isinstance(name, str) else None
    if handler is None:
        return Reply(False, f"unknown command {name!r}")
    if not full_control and name not in READ_ONLY:
        return Reply(False, f"{who} has a read-only operator key: {name} is not allowed")
    if not isinstance(args, dict):
        return Reply(False, f"{name}: arguments must be an object")
    if host.running is None:
        return Reply(False, "no search is open yet")
    if name not in READ_ONLY:
        log.info("%s: %s %s", who, name, args)
        if host.echo is not None:  # a headless console's output says who steered it
            host.echo(f"{who}: {name}" + "".join(f" {k}={v!r}" for k, v in args.items()))
    try:
        return await handler(host, args)
    except BadArguments as exc:
        return Reply(False, f"{name}: {exc}")


def _text(args: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = args.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_PATH_CHARS:
        raise BadArguments(f"{key} must be a non-empty string")
    return value


def _number(args: dict[str, Any], key: str) -> int:
    value = args.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadArguments(f"{key} must be an integer")
    return value


# -- the search ----------------------------------------------------------------------------------


@command("pause")
async def _pause(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    if host.state != "running":
        return Reply(False, f"the search is {host.state}, not running")
    host.running.scheduler.pause()  # the log says so, from the state change
    return Reply(True)


@command("resume")
async def _resume(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    state = host.state
    if state in ("stopped", "error"):  # the scheduler has returned: reopen the checkpoint
        return await host.switch_to(host.running.opened.checkpoint) or Reply(True)
    if state != "paused":
        return Reply(False, f"the search is {state}, not paused")
    host.running.scheduler.resume()
    return Reply(True)


@command("stop")
async def _stop(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    if host.state not in ("running", "paused"):
        return Reply(False, f"the search is {host.state}: nothing to stop")
    host.running.scheduler.stop()
    line = "stopping: running trials are cancelled and saved as pending"
    if not host.can_switch:  # headless: the process ends with its search
        line += f"; this headless console then exits (hpo-console {host.opened.checkpoint} resumes)"
    host.announce(line, "warning")
    return Reply(True)


@command("retry_failed")
async def _retry_failed(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    if not host.running.scheduler.ledger.failed:
        host.announce("no failed trial to retry")
        return Reply(True, "no failed trial to retry")
    if not host.running.serving:  # stopped or failed: reopen the checkpoint, then retry
        problem = await host.switch_to(host.running.opened.checkpoint)
        if problem is not None:
            return problem
    count = host.running.scheduler.retry_failed()
    host.announce(f"retrying {count} failed trial(s)")
    return Reply(True, f"retrying {count} failed trial(s)")


# -- nodes ---------------------------------------------------------------------------------------


@command("drain")
async def _drain(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    node_id = _text(args, "node_id")
    scheduler = host.running.scheduler
    node = scheduler.nodes.get(node_id)
    if node is None:
        return Reply(False, f"no node {node_id!r}")
    draining = not (node.draining or node.quarantined)
    scheduler.drain(node_id, draining)
    message = (
        f"node {node_id} draining: finishes its trials, gets no more (d again: undo)"
        if draining
        else f"node {node_id} takes trials again"
    )
    host.announce(message)
    return Reply(True, message)


@command("add_node")
async def _add_node(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    local = host.running.local
    if local is None:
        return Reply(False, "the search is not listening yet")
    (node_id,) = local.start(1)
    host.announce(f"started local node {node_id} ({local.slots} slot(s)); it joins in a moment")
    return Reply(True)


@command("stop_node")
async def _stop_node(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    """The named local node if it is one, else the newest."""
    wanted = _text(args, "node_id", optional=True)
    local = host.running.local
    running = local.running() if local else []
    if local is None or not running:
        return Reply(False, "no local node is running")
    node_id = wanted if wanted in running else running[-1]
    local.stop(node_id)
    host.announce(f"stopping local node {node_id}: it hands its trials back and exits")
    return Reply(True)


# -- files ---------------------------------------------------------------------------------------


@command("export")
async def _export(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    return start_export(host, reason="")


def start_export(host: ConsoleHost, reason: str) -> Reply:
    scheduler = host.running.scheduler
    if scheduler.ledger.best is None:
        return Reply(False, "no trial has scored yet: nothing to export")
    try:
        store_config()  # the common mistake, said at once: no MINIO_* in the environment
    except ExportError as exc:
        host.announce(f"export skipped: {exc}", "warning")
        return Reply(False, str(exc))
    if host.exporter.running:
        return Reply(False, "an export is already running")
    checkpoint = scheduler.save()  # the export reads the checkpoint: make it current
    host.announce(f"exporting the best model (trial {scheduler.ledger.best.id}){reason}...")
    host.exporter.start(checkpoint)
    return Reply(True)


@command("save")
async def _save(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    path = host.running.scheduler.save()
    host.feed.pending.note_checkpoint_logged(host.running.scheduler.clock())
    host.announce(f"saved to {path}")
    return Reply(True, str(path))


@command("check_save_as")
async def _check_save_as(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    problem = save_as_problem(Path(_text(args, "path")), host.running.scheduler.search_hash)
    return Reply(problem is None, problem or "")


@command("save_as")
async def _save_as(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    path = Path(_text(args, "path")).expanduser()
    problem = save_as_problem(path, host.running.scheduler.search_hash)
    if problem:
        return Reply(False, problem)
    try:
        saved = host.running.scheduler.save(path)
    except OSError as exc:
        return Reply(False, f"could not save to {path}: {exc}")
    host.announce(f"saved to {saved}; checkpoints go there from now on")
    return Reply(True, str(saved))


@command("check_open")
async def _check_open(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    try:
        open_search(Path(_text(args, "path")).expanduser())
    except (SearchFileError, CheckpointConflict) as exc:
        return Reply(False, str(exc))
    return Reply(True)


@command("open")
async def _open(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    path = Path(_text(args, "path")).expanduser()
    return await host.switch_to(path) or Reply(True)


def save_as_problem(path: Path, search_hash: str) -> str | None:
    if path.is_dir():
        return f"{path} is a folder; give a file name"
    if path.exists():
        try:
            existing = load_search(path)
        except SearchFileError:
            return f"{path} exists and is not a checkpoint of this search; choose another name"
        if existing.state is None or existing.state.config_hash != search_hash:
            return f"{path} holds a different search; choose another name"
    elif not path.parent.exists():
        return f"folder {path.parent} does not exist"
    return None


@command("note")
async def _note(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    """A line in every operator's log (e.g. where a screenshot went)."""
    text = _text(args, "text")
    host.announce(text[:500])
    return Reply(True)


# -- queries -------------------------------------------------------------------------------------


@command("trial_detail")
async def _trial_detail(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    trial_id = _number(args, "trial_id")
    scheduler = host.running.scheduler
    trial = scheduler.ledger.trials.get(trial_id)
    if trial is None:
        return Reply(False, f"no trial {trial_id}")
    front = pareto_ids(scheduler.spec, [t.record() for t in scheduler.ledger.trials.values()])
    view = trial_view(trial, scheduler.spec.max_attempts)
    return Reply(True, detail=TrialDetail(view, on_front=trial_id in front))


@command("node_detail")
async def _node_detail(host: ConsoleHost, args: dict[str, Any]) -> Reply:
    node_id = _text(args, "node_id")
    scheduler = host.running.scheduler
    node = scheduler.nodes.get(node_id)
    if node is None:
        return Reply(False, f"no node {node_id!r}")
    running = sorted(lease.trial_id for lease in scheduler.core.leases.of_node(node_id))
    seen = scheduler.clock() - node.last_seen
    return Reply(True, detail=node_detail(node, scheduler.nodes.state_of(node), running, seen))
