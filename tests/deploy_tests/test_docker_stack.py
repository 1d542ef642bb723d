"""The real stack, where a Docker engine answers: `docker compose up --build` with keys, node
containers, MinIO (a stand-in here) and the console, then the faults a deployment meets: a node
killed mid-search, the console stopped mid-search and started again, more nodes, `down -v`.

One image and one compose project serve every test in this module (they run in file order and
build on each other's state, like an operator's session); the fixture's teardown always runs
`down -v`. Without an engine these tests skip, saying why; with HPO_REQUIRE_DOCKER=1 (CI) they fail
instead, so a broken engine can never pass as a green run.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_search
from tests.deploy_tests.compose_local import REPO
from tests.deploy_tests.docker_stack import IMAGE, Stack, engine_problem, wait_for
from tests.store_tests.conftest import add_export
from tests.terminal import TerminalDrain, start_on_a_terminal

pytestmark = pytest.mark.timeout(600)

BUCKET = "models"
QUICK = "stack-quick"  # 6 trials of ~1 s: the first `up`
LONG = "stack-long"  # 15 trials of ~2 s: long enough to break things in the middle
ATTACHED = "stack-attach"  # 40 trials of ~2 s: time to attach, pause and resume before its end


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_searches(folder: Path) -> None:
    folder.mkdir()
    plans = ((QUICK, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]), (LONG, [1.0] * 15), (ATTACHED, [2.0] * 40))
    for name, seconds in plans:
        values = ", ".join(f"{s + i / 1000:.3f}" for i, s in enumerate(seconds))  # all distinct
        space = f'seconds = {{ type = "choice", values = [{values}] }}'
        add_export(write_search(folder, name=name, space=space, cv=2), BUCKET, auto=True)
        (folder / f"{name}.toml").chmod(0o644)  # the image's user reads it
    folder.chmod(0o755)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("HPO_REQUIRE_DOCKER") == "1":
            pytest.fail(f"HPO_REQUIRE_DOCKER=1 but no Docker engine: {problem}")
        pytest.skip(f"no Docker engine answers ({problem}); the local-process topology test runs")
    workdir = tmp_path_factory.mktemp("stack")
    workdir.chmod(0o755)
    write_searches(workdir / "searches")
    stack = Stack(workdir=workdir, console_port=free_port())
    stack.write_override()
    try:
        stack.compose("build", "keys", timeout=900)
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "-t", "5", timeout=180, check=False)


def trial_ids(checkpoint: dict) -> Counter[int]:
    return Counter(t["id"] for t in checkpoint.get("trials", []))


def test_up_runs_the_search_and_returns_the_consoles_exit_code(stack: Stack) -> None:
    done = stack.compose(
        "up", "--build", "--exit-code-from", "console", timeout=600,
        HPO_SEARCH=f"tests/{QUICK}.toml",
    )  # fmt: skip
    output = stack.logs("console")
    assert done.returncode == 0, output
    checkpoint = stack.checkpoint(QUICK)
    assert checkpoint["state"]["status"] == "finished"
    assert trial_ids(checkpoint) == Counter(range(6)), checkpoint["trials"]  # each once
    assert all(t["status"] == "ok" for t in checkpoint["trials"])
    named = re.search(r"^best trial (\d+):", output, re.MULTILINE)
    assert named is not None, output
    best = next(t for t in checkpoint["trials"] if t["id"] == int(named.group(1)))
    assert f"best hyperparameters: {best['params']}" in output
    assert "refused a connection" not in output  # every node has its keys: no false alarm
    # Three node containers did the work, each under its container's hostname.
    hosts = {stack.hostname(c) for c in stack.containers("node")}
    assert len(hosts) == 3 and {t["node"] for t in checkpoint["trials"]} <= hosts
    # The model is in the object store, and its bytes match the manifest's sha256. `up` stopped
    # every service when the console exited: start MinIO again to ask it.
    stack.compose("up", "-d", "--wait", "minio", timeout=120)
    check = (
        "import hashlib, json, os, minio; c = minio.Minio('minio:9000', "
        "os.environ['A'], os.environ['S'], secure=False); "
        f"m = json.loads(c.get_object('{BUCKET}', '{QUICK}/best.json').read()); "
        f"data = c.get_object('{BUCKET}', m['model_key']).read(); "
        "print(json.dumps([m['trial_id'], m['sha256'], hashlib.sha256(data).hexdigest()]))"
    )
    out = stack.docker(
        "run", "--rm", "--network", f"{stack.project}_default", "-e", "A=hpo-demo",
        "-e", "S=hpo-demo-secret", IMAGE, "timeout", "60", "python", "-c", check, timeout=90,
    )  # fmt: skip
    trial, declared, actual = json.loads(out.strip().splitlines()[-1])
    assert trial == best["id"] and declared == actual


def test_a_second_up_resumes_the_finished_search_and_hpo_fresh_starts_over(stack: Stack) -> None:
    again = stack.compose(
        "up", "--abort-on-container-exit", "--exit-code-from", "console", timeout=300,
        HPO_SEARCH=f"tests/{QUICK}.toml",
    )  # fmt: skip
    assert again.returncode == 0
    assert "already holds this search: resuming it" in stack.logs("console")
    fresh = stack.compose(
        "up", "--exit-code-from", "console", timeout=400,
        HPO_SEARCH=f"tests/{QUICK}.toml", HPO_FRESH="1",
    )  # fmt: skip
    assert fresh.returncode == 0, stack.logs("console")
    assert "already holds this search" not in stack.logs("console")
    checkpoint = stack.checkpoint(QUICK)
    assert checkpoint["state"]["status"] == "finished"
    assert trial_ids(checkpoint) == Counter(range(6))


def test_a_node_killed_mid_search_loses_its_trial_to_the_others(stack: Stack) -> None:
    env = {"HPO_SEARCH": f"tests/{LONG}.toml"}
    stack.compose("up", "-d", "--scale", "node=5", **env)
    wait_for(lambda: len(stack.containers("node", all_states=False)) == 5, 60, "5 nodes")
    # Every node joined and busy (15 trials, 5 one-slot nodes): any of them holds a trial now.
    wait_for(lambda: stack.logs("console").count(" joined") >= 5, 120, "all 5 nodes joined")
    wait_for(lambda: "new best" in stack.logs("console"), 120, "a first trial scored")
    victim = stack.containers("node", all_states=False)[0]
    victim_name = stack.hostname(victim)
    stack.docker("kill", victim)
    console = stack.containers("console")[0]
    wait_for(lambda: stack.state(console)[0] == "exited", 240, "the console to finish")
    output = stack.logs("console")
    assert stack.state(console)[1] == 0, output
    checkpoint = stack.checkpoint(LONG)
    assert checkpoint["state"]["status"] == "finished", output
    assert trial_ids(checkpoint) == Counter(range(15)) and all(
        t["status"] == "ok" for t in checkpoint["trials"]
    )
    gone = [line for line in output.splitlines() if line.startswith(f"node {victim_name} gone")]
    assert gone and "requeued trials [" in gone[0], output
    # Docker counts `docker kill` as stopped by hand: unless-stopped does not bring it back.
    status, _, restarts = stack.state(victim)
    assert status == "exited" and restarts == 0


def test_a_crashed_node_comes_back_under_its_own_name(stack: Stack) -> None:
    node = stack.containers("node", all_states=False)[0]
    name = stack.hostname(node)
    # Every process of the container but its init (PID 1 ignores it): hpo-node dies, so does the
    # init after it, as in a crash. The image has no `kill` binary: the shell's builtin.
    stack.docker("exec", node, "sh", "-c", "kill -KILL -1", check=False)
    wait_for(lambda: stack.state(node)[2] >= 1 and stack.state(node)[0] == "running", 60,
             "the restart policy to bring the crashed node back")  # fmt: skip
    assert stack.hostname(node) == name


def test_an_operator_attaches_with_compose_exec_and_steers_the_search(stack: Stack) -> None:
    """`docker compose exec console hpo-console attach`, on a real terminal: the TUI of the
    headless console's search; p pauses it, r resumes it, q detaches and leaves it running."""
    env = {"HPO_SEARCH": f"tests/{ATTACHED}.toml", "HPO_FRESH": "1"}
    stack.compose("up", "-d", "--force-recreate", "console", **env)  # the nodes still run
    wait_for(lambda: "new best" in stack.logs("console"), 120, "a first trial scored")
    argv = stack.compose_argv("exec", "console", "hpo-console", "attach")
    proc, terminal = start_on_a_terminal(argv, REPO, stack.environment(**env), size=(120, 40))
    try:
        screen = TerminalDrain(terminal)
        screen.until(b"Detach", 60)  # the key bar of an attached TUI
        screen.until(ATTACHED.encode(), 10)  # of this search
        os.write(terminal, b"p")
        wait_for(lambda: "search paused" in stack.logs("console"), 30, "the pause in the logs")
        resumed = stack.logs("console").count("search running")  # it started running once
        os.write(terminal, b"r")
        wait_for(lambda: stack.logs("console").count("search running") > resumed, 30, "resume")
        os.write(terminal, b"q")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(terminal)
    console = stack.containers("console")[0]
    assert stack.state(console)[0] == "running"  # detaching left the search going
    stack.compose("stop", "console", timeout=90)
    assert stack.checkpoint(ATTACHED)["state"]["status"] in ("stopped", "finished")


def test_the_console_stopped_mid_search_resumes_without_rerunning(stack: Stack) -> None:
    env = {"HPO_SEARCH": f"tests/{LONG}.toml", "HPO_FRESH": "1"}
    stack.compose("up", "-d", "--force-recreate", "console", **env)  # the nodes still run

    def three_recorded() -> bool:  # in the fresh run: the previous one's checkpoint is finished
        checkpoint = stack.checkpoint(LONG)
        done = sum(t["status"] == "ok" for t in checkpoint.get("trials", []))
        return checkpoint["state"]["status"] == "running" and done >= 3

    wait_for(three_recorded, 180, "three trials recorded in the fresh run")
    stack.compose("stop", "console", timeout=90)
    before = {t["id"]: t for t in stack.checkpoint(LONG)["trials"] if t["status"] == "ok"}
    assert stack.state(stack.containers("console")[0])[1] == 0  # SIGTERM: checkpointed, exit 0
    stack.compose("up", "-d", "console", **env)  # the same container: HPO_FRESH applies once
    console = stack.containers("console")[0]
    wait_for(lambda: stack.state(console)[0] == "exited", 240, "the resumed console to finish")
    assert stack.state(console)[1] == 0, stack.logs("console")
    after = {t["id"]: t for t in stack.checkpoint(LONG)["trials"]}
    assert sorted(after) == list(range(15))
    for trial_id, trial in before.items():  # nothing recorded before the stop was run again
        assert after[trial_id]["score"] == trial["score"]
        assert after[trial_id]["attempts"] == trial["attempts"]


def test_down_v_leaves_nothing_behind(stack: Stack) -> None:
    stack.compose("down", "-v", "-t", "5", timeout=180)
    assert stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
