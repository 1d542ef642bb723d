"""The compose topology, run as local processes with exactly the commands and environment the
compose file declares (see compose_local.py), the session's S3 server standing in for MinIO:
keys first, then three nodes before any console, then the console, which must run its search to
the end over CURVE, print the best hyperparameters and export the best model."""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.searchfile.toml_io import load_search
from console.store.devstore import LocalStore
from tests.conftest import wait_until, write_search
from tests.deploy_tests.compose_local import LocalCompose, load_compose, read_image_config
from tests.store_tests.conftest import add_export

pytestmark = pytest.mark.timeout(90)

SEARCH_NAME = "compose-quick"
GRID = [2, 3, 4, 5, 6, 8]  # six quick decision-tree trials on iris
CONSOLE_PORT, MINIO_PORT = 5555, 9000  # the container ports the compose file uses


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def topology(s3_store: LocalStore, bucket: str, tmp_path: Path) -> Iterator[LocalCompose]:
    """The compose file as `HPO_SEARCH=... HPO_NODE_SLOTS=1 docker compose up` would see it."""
    variables = {
        "HPO_SEARCH": f"{SEARCH_NAME}.toml",
        "HPO_NODE_SLOTS": "1",  # pinned, whatever the default becomes
        "MINIO_ACCESS_KEY": s3_store.access_key,
        "MINIO_SECRET_KEY": s3_store.secret_key,
    }
    local = LocalCompose(
        compose=load_compose(variables),
        image=read_image_config(),
        root=tmp_path / "root",
        logs=tmp_path / "logs",
        ports={"console": {CONSOLE_PORT: free_port()}, "minio": {MINIO_PORT: s3_store.ports["s3"]}},
    )
    local.prepare()
    write_quick_search(local.local_path(local.image.workdir), bucket)
    try:
        yield local
    finally:
        local.stop_all()


def write_quick_search(workdir: Path, bucket: str) -> None:
    """The search HPO_SEARCH names, in the console's working folder (as a file in the image)."""
    space = f'max_depth = {{ type = "choice", values = {GRID} }}'
    search = write_search(workdir, name=SEARCH_NAME, estimator="decision_tree", space=space)
    add_export(search, bucket, auto=True)


def check_keys(local: LocalCompose) -> None:
    """The console made the keypair and the nodes' bundle, secrets private."""
    bundle = local.local_path("/keys/nodes/compose")
    assert stat.S_IMODE((bundle / "node.key_secret").stat().st_mode) == 0o600
    assert (local.local_path("/keys") / "console.key_secret").exists()


def start_nodes_before_the_console(local: LocalCompose) -> list[subprocess.Popen[bytes]]:
    """`deploy.replicas` nodes, each shown to wait for the bundle the console will make."""
    count = local.services["node"]["deploy"]["replicas"]
    nodes = [local.start("node", f"node-{n}") for n in range(count)]
    wait_until(
        lambda: all("waiting up to 300s for the key bundle" in local.log(f"node-{n}")
                    for n in range(count)),
        timeout=30,
        what="every node to wait for its keys before the console exists",
    )  # fmt: skip
    assert all(node.poll() is None for node in nodes)  # still there, still waiting
    return nodes


def test_compose_up_runs_the_search_to_the_end_over_curve_and_exports(
    topology: LocalCompose, s3_store: LocalStore, bucket: str
) -> None:
    nodes = start_nodes_before_the_console(topology)
    console = topology.start("console", "console")
    wait_until(lambda: all("did not answer" in topology.log(f"node-{n}") or "joined" in
               topology.log("console") for n in range(len(nodes))), 30, "keys made")  # fmt: skip
    check_keys(topology)
    wait_until(lambda: console.poll() is not None, timeout=60, what="the console to finish")
    output = topology.log("console")
    assert console.returncode == 0, output

    checkpoint = topology.local_path("/app/runs") / f"{SEARCH_NAME}.toml"
    state = load_search(checkpoint).state
    assert state is not None and state.status == "finished", output
    assert Counter(t["id"] for t in state.trials) == Counter(range(len(GRID)))  # each once
    assert all(t["status"] == "ok" for t in state.trials), state.trials
    # The nodes' default ids are HOST-PID: the same PIDs we started, since the image's
    # `env` entrypoint exec()s hpo-node rather than running it as a child.
    node_ids = {f"{socket.gethostname()}-{node.pid}" for node in nodes}
    assert {t["node"] for t in state.trials} <= node_ids

    # Trees of several depths can tie on iris: the best is the trial the console names, which
    # must have the top score; it is the one printed and the one exported.
    assert "not a terminal, so running headless" in output
    named = re.search(r"^best trial (\d+):", output, re.MULTILINE)
    assert named is not None, output
    best = next(t for t in state.trials if t["id"] == int(named.group(1)))
    assert best["score"] == max(t["score"] for t in state.trials)
    assert f"best hyperparameters: {best['params']}" in output
    pointer = s3_store.config.client().get_object(bucket, f"{SEARCH_NAME}/best.json").read()
    assert json.loads(pointer)["trial_id"] == best["id"]
