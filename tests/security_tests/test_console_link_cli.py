"""`hpo-console` with and without keys: the safe default, --insecure, bad key folders, and CURVE
with the console's own local nodes. Real console and node processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.link import keys_cli
from tests.conftest import REPO, write_search

pytestmark = pytest.mark.timeout(120)


def console(
    *args: str | Path, cwd: Path, tmpdir: Path | None = None
) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        [sys.executable, "-m", "console", *map(str, args), "--headless"],
        cwd=cwd,
        env=env,
        text=True,
        capture_output=True,
        timeout=90,
    )


def small_search(tmp_path: Path, local_nodes: int = 0) -> Path:
    return write_search(tmp_path, strategy="random", max_trials=6, local_nodes=local_nodes)


@pytest.mark.parametrize("bind", ["tcp://0.0.0.0:0", "tcp://*:0", "tcp://myhost.example:0"])
def test_listening_beyond_loopback_without_keys_is_refused(tmp_path: Path, bind: str) -> None:
    search = small_search(tmp_path)
    refused = console(search, "--bind", bind, cwd=tmp_path)
    assert refused.returncode == 2
    assert f"refusing to listen on {bind} without CURVE keys" in refused.stderr
    assert "--keys" in refused.stderr and "--insecure" in refused.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_insecure_allows_it_with_a_warning(tmp_path: Path) -> None:
    search = small_search(tmp_path, local_nodes=1)
    ran = console(search, "--bind", "tcp://0.0.0.0:0", "--insecure", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "WARNING: listening on tcp://0.0.0.0:0 without encryption" in ran.stderr
    assert "search finished: 6 scored" in ran.stdout


def test_loopback_needs_neither_keys_nor_a_warning(tmp_path: Path) -> None:
    ran = console(small_search(tmp_path, local_nodes=1), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "WARNING" not in ran.stderr


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("missing", "no such key folder"),
        ("no-secret", "console.key_secret: no such key file"),
        ("garbage", "console.key_secret: not a ZeroMQ key file"),
        ("public-only", "holds no secret-key"),
    ],
)
def test_an_unusable_key_folder_stops_the_console_with_a_clear_message(
    tmp_path: Path, damage: str, expected: str
) -> None:
    folder = tmp_path / "keys"
    if damage != "missing":
        keys_cli.init(folder, exist_ok=False)
    secret = folder / "console.key_secret"
    if damage == "no-secret":
        secret.unlink()
    elif damage == "garbage":
        secret.write_bytes(b"\x00\xff not a key\n")
    elif damage == "public-only":
        secret.write_text((folder / "console.key").read_text())
    stopped = console(small_search(tmp_path, local_nodes=1), "--keys", folder, cwd=tmp_path)
    assert stopped.returncode == 2
    assert expected in stopped.stderr
    assert str(folder) in stopped.stderr
    assert not (tmp_path / "runs").exists()


def test_keys_from_the_search_file_secure_the_console_and_its_local_nodes(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys_cli.init(folder, exist_ok=False)
    search = small_search(tmp_path, local_nodes=1)
    search.write_text(search.read_text() + f'keys_dir = "{folder}"\n')  # into [cluster]
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    ran = console(search, "--bind", "tcp://0.0.0.0:0", cwd=tmp_path, tmpdir=private_tmp)
    assert ran.returncode == 0, ran.stderr
    assert "WARNING" not in ran.stderr
    assert "node local-1" in ran.stdout and "search finished: 6 scored" in ran.stdout
    # The local nodes' temporary key bundle is gone with the console. What stays is the attach
    # registry's folder (kept, like tmux's, since another console may be starting in it), empty.
    left = list(private_tmp.iterdir())
    assert [p.name for p in left] == [f"zmq-hpo-{os.getuid()}"]
    assert list(left[0].iterdir()) == []
