"""`hpo-console export | pull | dataset push` as real processes: exit codes and messages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from console.store.devstore import LocalStore
from tests.conftest import REPO, write_search
from tests.store_tests.conftest import add_export, saved_search, trial_row

pytestmark = pytest.mark.timeout(60)


def hpo_console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=50,
    )


@pytest.mark.parametrize("command", [["export"], ["pull"], ["dataset"], ["dataset", "push"]])
def test_help(command: list[str]) -> None:
    done = hpo_console(*command, "--help", env={"MINIO_ENDPOINT": ""})
    assert done.returncode == 0 and "usage: hpo-console" in done.stdout


def test_export_then_pull(store_env: LocalStore, bucket: str, tmp_path: Path) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.9), trial_row(1, 3, 0.8)])
    done = hpo_console("export", str(checkpoint))
    assert done.returncode == 0, done.stderr
    assert "refitting decision_tree on iris..." in done.stdout
    assert "verified" in done.stdout and "best.json updated" in done.stdout
    pointer = f"s3://{bucket}/trees/best.json"
    assert f"hpo-console pull {pointer}" in done.stdout

    out = tmp_path / "m.skops"
    done = hpo_console("pull", pointer, "-o", str(out), "--manifest", str(tmp_path / "m.json"))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0 and '"trial_id": 0' in (tmp_path / "m.json").read_text()
    assert "sha256 verified" in done.stdout and "sklearn.tree._tree.Tree" in done.stdout


def test_not_configured_is_bad_input(tmp_path: Path, bucket: str) -> None:
    checkpoint = saved_search(tmp_path, bucket, [trial_row(0, 2, 0.9)])
    done = hpo_console("export", str(checkpoint), env={"MINIO_ENDPOINT": ""})
    assert done.returncode == 2 and "set MINIO_ENDPOINT" in done.stderr


def test_bad_input_exits_2(store_env: LocalStore, bucket: str, tmp_path: Path) -> None:
    no_trials = add_export(write_search(tmp_path, name="empty"), bucket)
    done = hpo_console("export", str(no_trials))
    assert done.returncode == 2 and "no finished trial to export" in done.stderr
    done = hpo_console("export", str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and "missing.toml: cannot read" in done.stderr
    done = hpo_console("pull", "http://not-s3/best.json")
    assert done.returncode == 2 and "expected s3://BUCKET/KEY" in done.stderr
    csv = tmp_path / "d.csv"
    csv.write_text("a,b\n1,2\n")
    done = hpo_console("dataset", "push", str(csv), f"s3://{bucket}/d.csv")
    assert done.returncode == 2 and "no column 'target'" in done.stderr
    done = hpo_console("dataset", "push", str(csv), f"s3://{bucket}/d.txt", "--target", "b")
    assert done.returncode == 2 and "KEY.csv" in done.stderr
    done = hpo_console("dataset", "push", str(csv), "s3://X_Y/d.csv", "--target", "b")
    assert done.returncode == 2 and "'X_Y' is not a bucket name" in done.stderr


def test_store_errors_exit_1(store_env: LocalStore, bucket: str) -> None:
    done = hpo_console("pull", f"s3://{bucket}/nothing/best.json")
    assert done.returncode == 1 and f"s3://{bucket}/nothing/best.json" in done.stderr
    done = hpo_console(
        "pull", f"s3://{bucket}/x/best.json", env={"MINIO_SECRET_KEY": "wrong-secret"}
    )
    assert done.returncode == 1 and "rejected the credentials" in done.stderr


def test_make_run_wrapper_starts_a_store_for_the_command_and_stops_it(tmp_path: Path) -> None:
    """`python -m console.store.devstore run -- CMD` (what `make run` does), with a real weed."""
    probe = "import os, sys; print(os.environ['MINIO_ENDPOINT']); sys.exit(3)"
    wrapper = [
        sys.executable,
        "-m",
        "console.store.devstore",
        "--dir",
        str(tmp_path / "store"),
        "run",
    ]
    done = subprocess.run(
        [*wrapper, "--", sys.executable, "-c", probe],
        capture_output=True, text=True, cwd=REPO, timeout=50,
        env={**os.environ, "MINIO_ENDPOINT": ""},
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # the command's own exit status
    endpoint = done.stdout.splitlines()[-1]
    assert endpoint.startswith("127.0.0.1:") and f"http://{endpoint}" in done.stdout
    with socket.socket() as client:  # stopped with the command: nothing listens any more
        assert client.connect_ex(("127.0.0.1", int(endpoint.split(":")[1]))) != 0

    done = subprocess.run(
        [*wrapper, "--", sys.executable, "-c", probe],
        capture_output=True, text=True, cwd=REPO, timeout=50,
        env={**os.environ, "MINIO_ENDPOINT": "store.example:9000"},
    )  # fmt: skip
    assert done.returncode == 3 and done.stdout.splitlines()[-1] == "store.example:9000"


def test_make_run_wrapper_stops_the_store_when_the_terminal_hangs_up(tmp_path: Path) -> None:
    """A dropped SSH session sends SIGHUP to the whole foreground group: the console exits on
    it, and the wrapper must outlive it long enough to stop the store (no orphan on the port)."""
    command = "import time; print('ready', flush=True); time.sleep(60)"
    wrapper = [
        sys.executable,
        "-m",
        "console.store.devstore",
        "--dir",
        str(tmp_path / "store"),
        "run",
    ]
    proc = subprocess.Popen(
        [*wrapper, "--", sys.executable, "-c", command],
        stdout=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True,
        env={**os.environ, "MINIO_ENDPOINT": ""},
    )  # fmt: skip
    try:
        lines = iter(proc.stdout)  # type: ignore[arg-type]
        banner = next(line for line in lines if "local SeaweedFS at http://" in line)
        port = int(banner.split("http://127.0.0.1:")[1].split()[0])
        assert next(lines).strip() == "ready"
        os.killpg(proc.pid, signal.SIGHUP)  # as the kernel does on hangup
        assert proc.wait(timeout=30) == 128 + signal.SIGHUP  # the command died of it
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    with socket.socket() as client:
        assert client.connect_ex(("127.0.0.1", port)) != 0
