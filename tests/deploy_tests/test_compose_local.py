"""The harness that stands in for Docker: interpolation as Compose does it, and the mapping of
container names, ports and paths onto this machine (never anything but 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy_tests.compose_local import (
    ImageConfig,
    InterpolationError,
    LocalCompose,
    dockerfile_instructions,
    interpolate,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A:-x}", "set"),
        ("${UNSET:-x}", "x"),
        ("${EMPTY:-x}", "x"),  # :- also replaces an empty value
        ("${EMPTY-x}", ""),  # - only an unset one
        ("${UNSET-x}", "x"),
        ("$A/${A}", "set/set"),
        ("$$A", "$A"),  # $$ is a literal dollar
        ("tcp://${UNSET:-console}:5555", "tcp://console:5555"),
    ],
)
def test_interpolation_follows_compose(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "set", "EMPTY": ""}) == expected


def test_a_required_variable_that_is_missing_is_an_error() -> None:
    with pytest.raises(InterpolationError, match="NEEDED: set it"):
        interpolate("${NEEDED:?set it}", {})


def test_dockerfile_instructions_join_continuations_and_skip_comments() -> None:
    text = "# c\nFROM x AS b\nRUN a \\\n  # inside\n  && b\nENV K=v \\\n    L=w\n"
    assert dockerfile_instructions(text) == [
        ("FROM", "x AS b"),
        ("RUN", "a && b"),
        ("ENV", "K=v L=w"),
    ]


def local_topology(tmp_path: Path) -> LocalCompose:
    services = {
        "console": {"volumes": ["keys:/keys:ro", "runs:/app/runs"]},
        "node": {"volumes": ["keys:/keys:ro"]},
    }
    image = ImageConfig(workdir="/app", env={}, entrypoint=[], cmd=["hpo-node"], user="10001")
    return LocalCompose(
        compose={"services": services},
        image=image,
        root=tmp_path,
        logs=tmp_path / "logs",
        ports={"console": {5555: 40001}},
    )


def test_names_ports_and_paths_become_local(tmp_path: Path) -> None:
    local = local_topology(tmp_path)
    assert local.map_text("node", "tcp://console:5555") == "tcp://127.0.0.1:40001"
    assert local.map_text("console", "tcp://0.0.0.0:5555") == "tcp://127.0.0.1:40001"
    assert local.map_text("node", "/keys/nodes/compose") == f"{tmp_path}/keys/nodes/compose"
    assert local.map_text("node", "init /keys && ls /app/runs") == (
        f"init {tmp_path}/keys && ls {tmp_path}/app/runs"
    )
    assert local.map_text("node", "s3://b/keys/x.csv") == "s3://b/keys/x.csv"  # not a path


def test_an_address_with_no_local_port_is_an_error_not_a_guess(tmp_path: Path) -> None:
    local = local_topology(tmp_path)
    with pytest.raises(ValueError, match="no local port for console:6000"):
        local.map_text("node", "tcp://console:6000")
    with pytest.raises(ValueError, match="no local port for node:5555"):
        local.map_text("node", "tcp://0.0.0.0:5555")  # node publishes nothing


def test_one_path_holding_two_volumes_cannot_be_shared_faithfully(tmp_path: Path) -> None:
    local = local_topology(tmp_path)
    local.compose["services"]["node"]["volumes"] = ["other:/keys"]
    with pytest.raises(ValueError, match="/keys mounts both keys and other"):
        local.container_dirs()
