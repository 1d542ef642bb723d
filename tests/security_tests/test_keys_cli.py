"""`hpo-console keys ...` as a user runs it: files, modes, refusals, and bundles a node can use."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from node.curve import load_node_keys, read_keypair, read_public
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(60)


def keys(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "keys", *map(str, args)],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=30,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_and_add_node_make_a_bundle_that_matches_the_console(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    made = keys("init", folder)
    assert made.returncode == 0, made.stderr
    assert "add-node" in made.stdout  # says what to do next
    added = keys("add-node", folder, "rack-1")
    assert added.returncode == 0, added.stderr
    assert "--keys" in added.stdout

    bundle = folder / "nodes" / "rack-1"
    assert mode(folder) == 0o700
    assert mode(folder / "console.key_secret") == 0o600
    assert mode(bundle / "node.key_secret") == 0o600
    console = read_keypair(folder / "console.key_secret")
    assert read_public(folder / "console.key") == console.public
    node = load_node_keys(bundle)
    assert node.console_public == console.public
    assert read_public(bundle / "node.key") == node.own.public
    listed = keys("list", folder)
    assert listed.returncode == 0
    assert "rack-1" in listed.stdout and node.own.public.decode() in listed.stdout


def test_init_never_replaces_keys_that_nodes_depend_on(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    assert keys("init", folder).returncode == 0
    before = (folder / "console.key_secret").read_bytes()
    again = keys("init", folder)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--exist-ok" in again.stderr
    assert keys("init", folder, "--exist-ok").returncode == 0
    assert (folder / "console.key_secret").read_bytes() == before


def test_add_node_refusals_name_the_problem(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    not_yet = keys("add-node", folder, "n1")
    assert not_yet.returncode == 2
    assert f"keys init {folder}" in not_yet.stderr
    assert keys("init", folder).returncode == 0
    bad_name = keys("add-node", folder, "../escape")
    assert bad_name.returncode == 2 and "node name" in bad_name.stderr
    assert not (tmp_path / "escape").exists()
    assert keys("add-node", folder, "n1").returncode == 0
    twice = keys("add-node", folder, "n1")
    assert twice.returncode == 2 and "already exists" in twice.stderr
    assert keys("add-node", folder, "n1", "--exist-ok").returncode == 0


def test_remove_node_revokes_it_and_says_what_that_means(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys("init", folder)
    keys("add-node", folder, "n1")
    removed = keys("remove-node", folder, "n1")
    assert removed.returncode == 0 and "reconnects" in removed.stdout
    assert not (folder / "nodes" / "n1").exists()
    assert "no node keys yet" in keys("list", folder).stdout
    missing = keys("remove-node", folder, "n1")
    assert missing.returncode == 2 and "no such node bundle" in missing.stderr


def test_a_corrupt_key_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys("init", folder)
    (folder / "console.key_secret").write_text('curve\n    public-key = "short"\n')
    broken = keys("add-node", folder, "n1")
    assert broken.returncode == 2
    assert "console.key_secret" in broken.stderr


def test_a_secret_readable_by_everyone_is_warned_about_but_group_access_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "keys"
    assert keys("init", folder).returncode == 0
    secret = folder / "console.key_secret"
    secret.chmod(0o640)  # what Kubernetes does for a pod's fsGroup: accepted quietly
    read_keypair(secret)
    assert "can be read by other users" not in caplog.text
    secret.chmod(0o644)
    read_keypair(secret)
    assert f"{secret} can be read by other users; chmod 600 it" in caplog.text
