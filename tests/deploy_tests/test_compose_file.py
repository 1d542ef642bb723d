"""docker-compose.yml: valid against the Compose Specification's JSON schema, and the topology
keeps its promises (scalable nodes, no start order on the console, MinIO healthy before export)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy_tests.compose_local import (
    COMPOSE_FILE,
    depends_on,
    environment_of,
    load_compose,
    volume_mounts,
)

pytestmark = pytest.mark.timeout(30)

SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")  # vendored: see README.md here
IMAGE_SERVICES = ("keys", "node", "console")  # the ones running this project's image


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft201909Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The schema says draft 2019-09; naming the validator keeps it from guessing.
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services with every variable at its default, as `docker compose up` sees them."""
    return load_compose({})["services"]


def schema_errors(validator: jsonschema.Draft201909Validator, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def test_the_file_as_written_is_valid(validator: jsonschema.Draft201909Validator) -> None:
    assert schema_errors(validator, yaml.safe_load(COMPOSE_FILE.read_text())) == []


def test_the_file_with_defaults_substituted_is_valid(
    validator: jsonschema.Draft201909Validator,
) -> None:
    assert schema_errors(validator, load_compose({})) == []


def test_the_schema_does_catch_mistakes(validator: jsonschema.Draft201909Validator) -> None:
    document = load_compose({})
    document["services"]["node"]["inti"] = True  # a typo
    document["services"]["console"]["depends_on"]["minio"]["condition"] = "healthy"
    errors = schema_errors(validator, document)
    assert len(errors) == 2, errors


def test_one_image_built_once_for_keys_nodes_and_console(services: dict[str, Any]) -> None:
    images = {services[name]["image"] for name in IMAGE_SERVICES}
    assert images == {"zmq-hpo:latest"}
    builders = [name for name in IMAGE_SERVICES if "build" in services[name]]
    assert builders == ["keys", "console"]  # the same image; nodes use it (Swarm ignores build)


def test_nodes_scale_and_get_signals(services: dict[str, Any]) -> None:
    node = services["node"]
    assert node["init"] is True  # SIGTERM reaches hpo-node, which hands its trials back
    assert node["restart"] in {"unless-stopped", "always"} or node["restart"].startswith("on-")
    assert "container_name" not in node  # a fixed name would allow one copy only
    assert "ports" not in node  # and so would a fixed host port
    assert "command" not in node  # the image's default: hpo-node, configured by environment
    env = environment_of(node)
    assert env["HPO_CONNECT"] == "tcp://console:5555"
    assert env["HPO_NODE_KEYS"] == "/keys/nodes/compose"
    assert env["HPO_SLOTS"] == "1"  # ${HPO_NODE_SLOTS:-1}: containers on one host share CPUs
    assert node["deploy"]["replicas"] == 3


def test_nodes_wait_for_their_keys_only_not_for_the_console(services: dict[str, Any]) -> None:
    # No one-shot service under `up`: its exit would abort `up --exit-code-from console`. The
    # console makes the keys; nodes wait for their bundle themselves (HPO_KEYS_WAIT_S).
    assert depends_on(services["node"]) == {}
    assert environment_of(services["node"])["HPO_KEYS_WAIT_S"] == "300"
    assert services["keys"]["profiles"] == ["tools"]
    dependents = [name for name, svc in services.items() if "console" in depends_on(svc)]
    assert dependents == []


def test_the_console_waits_for_a_healthy_minio_and_the_keys(services: dict[str, Any]) -> None:
    console = services["console"]
    assert depends_on(console) == {"minio": "service_healthy"}
    assert console["init"] is True
    assert console["ports"] == ["5555:5555"]  # ${HPO_CONSOLE_PORT:-5555}
    assert volume_mounts(console)["/app/runs"] == "runs"
    command = console["command"]
    assert command[:2] == ["sh", "-c"]  # only to add --fresh; then exec, so no shell stays
    assert 'exec hpo-console "$HPO_SEARCH" --bind tcp://0.0.0.0:5555 --keys /keys ' in command[2]
    assert command[2].endswith('--local-nodes 0 "$@"')
    env = environment_of(console)
    assert env["MINIO_ENDPOINT"] == "minio:9000"
    assert (env["HPO_SEARCH"], env["HPO_FRESH"]) == ("sample.toml", "")


def test_the_published_port_and_the_search_come_from_the_environment() -> None:
    custom = load_compose(
        {"HPO_CONSOLE_PORT": "127.0.0.1:6000", "HPO_SEARCH": "runs/x.toml", "HPO_FRESH": "1"}
    )["services"]["console"]
    assert custom["ports"] == ["127.0.0.1:6000:5555"]  # one address of the host only
    env = environment_of(custom)
    assert (env["HPO_SEARCH"], env["HPO_FRESH"]) == ("runs/x.toml", "1")


def _run_console_script(tmp_path: Path, hostname: str, fresh: str) -> list[str]:
    """The console's `sh -c` script with hpo-console replaced by a stub that prints its args."""
    script = load_compose({})["services"]["console"]["command"][2]
    script = script.replace("/app/runs", str(tmp_path)).replace("exec hpo-console", "exec echo")
    script = script.replace("$(hostname)", hostname).replace("hpo-console keys", "true")
    env = {"PATH": os.environ["PATH"], "HPO_SEARCH": "s.toml", "HPO_FRESH": fresh}
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_hpo_fresh_starts_over_on_a_containers_first_start_only(tmp_path: Path) -> None:
    assert "--fresh" not in _run_console_script(tmp_path, "c1", fresh="")
    first = _run_console_script(tmp_path, "c2", fresh="1")
    assert first[0] == "s.toml" and first[-1] == "--fresh"
    # The same container restarted (after a crash) resumes; a new one starts over again.
    assert "--fresh" not in _run_console_script(tmp_path, "c2", fresh="1")
    assert "--fresh" in _run_console_script(tmp_path, "c3", fresh="1")


def test_the_console_is_headless_under_up_and_never_reruns_a_finished_search(
    services: dict[str, Any],
) -> None:
    console = services["console"]
    # No terminal under `docker compose up`: the console falls back to headless by itself
    # (`docker compose run` allocates one, so it opens the TUI there).
    assert console["tty"] is False and console["stdin_open"] is False
    # Exit 0 (finished or stopped) is not a failure, so neither Compose nor Swarm restarts it.
    assert console["restart"].startswith("on-failure")
    assert console["deploy"]["restart_policy"]["condition"] == "on-failure"


def test_minio_is_health_checked_and_keeps_its_data(services: dict[str, Any]) -> None:
    minio = services["minio"]
    assert minio["image"].startswith("minio/minio:")
    assert minio["command"] == ["server", "/data"]
    assert minio["healthcheck"]["test"][0] == "CMD"
    assert volume_mounts(minio) == {"/data": "minio-data"}
    env = environment_of(minio)
    assert (env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"]) == ("hpo-demo", "hpo-demo-secret")


def test_keys_are_made_once_into_a_named_volume(services: dict[str, Any]) -> None:
    keys = services["keys"]
    script = services["console"]["command"][2]
    assert "hpo-console keys init /keys --exist-ok >/dev/null &&" in script  # the keypair, once
    assert "hpo-console keys add-node /keys compose --exist-ok >/dev/null &&" in script
    assert volume_mounts(services["console"])["/keys"] == "keys"
    assert keys["restart"] == "no" and keys["deploy"]["restart_policy"]["condition"] == "none"
    assert volume_mounts(keys) == {"/keys": "keys"}


def test_every_named_volume_is_declared() -> None:
    document = load_compose({})
    used = {
        source
        for service in document["services"].values()
        for source in volume_mounts(service).values()
        if not source.startswith((".", "/"))  # bind mounts are paths
    }
    assert used == set(document["volumes"]) == {"minio-data", "keys", "runs"}


def test_credentials_come_from_the_environment(services: dict[str, Any]) -> None:
    custom = load_compose({"MINIO_ACCESS_KEY": "me", "MINIO_SECRET_KEY": "s3cret-enough"})
    for name in ("node", "console"):
        env = environment_of(custom["services"][name])
        assert (env["MINIO_ACCESS_KEY"], env["MINIO_SECRET_KEY"]) == ("me", "s3cret-enough")
    minio = environment_of(custom["services"]["minio"])
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == ("me", "s3cret-enough")
