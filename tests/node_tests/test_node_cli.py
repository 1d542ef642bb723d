"""`hpo-node` refuses bad flags with exit code 2 and a message, before starting anything."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "args, message",
    [
        (["--connect", "localhost:5555"], "--connect must be tcp://HOST:PORT"),
        (["--slots", "-1"], "--slots and --prefetch must be >= 0"),
        (["--heartbeat", "0"], "--heartbeat > 0"),
    ],
)
def test_bad_flags_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "node", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_environment_variables_configure_the_node() -> None:
    code = (
        "from node.__main__ import build_parser; a = build_parser().parse_args([]); "
        "print(a.connect, a.slots, a.node_id, a.prefetch)"
    )
    env = {"HPO_CONNECT": "tcp://console:6000", "HPO_SLOTS": "3", "HPO_NODE_ID": "n7",
           "HPO_PREFETCH": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.stdout.split() == ["tcp://console:6000", "3", "n7", "1"]
