"""The hpo-console command line: bad input, refusals, Ctrl-C. Real processes throughout."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from console.searchfile.toml_io import load_search
from tests.conftest import REPO, wait_until, write_search

pytestmark = pytest.mark.timeout(120)

FILES = Path(__file__).parent / "files"


def _run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=timeout,
        env=_env(),
    )


def _env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("syntax_error.toml", ":7:10: syntax error"),
        ("unknown_keys.toml", "unknown key"),
        ("bad_ranges.toml", "space."),
        ("unknown_estimator.toml", "model.estimator"),
        ("empty_space.toml", "space"),
        ("many_errors.toml", "\n"),
    ],
)
def test_bad_search_file_exits_2_lists_errors_and_writes_nothing(
    tmp_path: Path, name: str, expected: str
) -> None:
    bad = tmp_path / name
    bad.write_text((FILES / name).read_text())
    result = _run(str(bad), "--headless", cwd=tmp_path)
    assert result.returncode == 2
    assert name in result.stderr and expected in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing written


def test_many_errors_are_all_reported_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "many_errors.toml"
    bad.write_text((FILES / "many_errors.toml").read_text())
    result = _run(str(bad), "--headless", cwd=tmp_path)
    assert result.returncode == 2
    assert len([line for line in result.stderr.splitlines() if "many_errors.toml" in line]) >= 3


def test_existing_checkpoint_of_another_search_is_not_overwritten(tmp_path: Path) -> None:
    first = write_search(
        tmp_path, name="same", space='seconds = { type = "choice", values = [0.0] }'
    )
    assert _run(str(first), "--headless", "--local-nodes", "1", cwd=tmp_path).returncode == 0
    checkpoint = tmp_path / "runs" / "same.toml"
    before = checkpoint.read_bytes()
    # Another cv changes what a score means (a wider space would extend the search instead).
    changed = write_search(
        tmp_path, name="same", space='seconds = { type = "choice", values = [0.0] }', cv=4
    )
    result = _run(str(changed), "--headless", "--local-nodes", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "holds a different search" in result.stderr and "--fresh" in result.stderr
    assert "search.cv: 3 -> 4" in result.stderr
    assert checkpoint.read_bytes() == before


def test_finished_search_reopened_reports_without_rerunning(tmp_path: Path) -> None:
    search = write_search(
        tmp_path, name="done", space='seconds = { type = "choice", values = [0.0, 0.01] }'
    )
    first = _run(str(search), "--headless", "--local-nodes", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "best trial" in first.stdout and "runs/done.toml" in first.stdout
    checkpoint = tmp_path / "runs" / "done.toml"
    rows_before = load_search(checkpoint).state.trials
    again = _run(str(checkpoint), "--headless", "--local-nodes", "0", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "search finished: 2 scored" in again.stdout
    assert load_search(checkpoint).state.trials == rows_before


def test_ctrl_c_stops_cleanly_and_checkpoints_running_trials_as_pending(tmp_path: Path) -> None:
    search = write_search(
        tmp_path,
        name="stopme",
        strategy="random",
        max_trials=40,
        space='seconds = { type = "float", low = 0.4, high = 0.5 }',
        local_nodes=2,
    )
    checkpoint = tmp_path / "runs" / "stopme.toml"
    out = tmp_path / "out.log"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", str(search), "--headless", "--local-slots", "1"],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
    try:
        wait_until(lambda: "new best" in out.read_text(), 60, "a first result")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.read_text()
    assert "stopping" in text and "search stopped" in text
    assert "\r" not in text  # not a terminal: plain log lines, no live status line
    state = load_search(checkpoint).state
    assert state.status == "stopped"
    statuses = {t["status"] for t in state.trials}
    assert statuses <= {"ok", "pending"} and "pending" in statuses
    # The console's local nodes went away with it.
    wait_until(lambda: not _children_of(proc.pid), 15, "local nodes exit")


def _children_of(console_pid: int) -> list[str]:
    """Local node processes started by that console (they carry its pid)."""
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if f"--parent-pid {console_pid}" in line]


def test_address_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import zmq

    blocker = zmq.Context.instance().socket(zmq.ROUTER)
    port = blocker.bind_to_random_port("tcp://127.0.0.1")
    try:
        search = write_search(tmp_path, name="busy")
        result = _run(str(search), "--headless", "--bind", f"tcp://127.0.0.1:{port}", cwd=tmp_path)
    finally:
        blocker.close(linger=0)
    assert result.returncode == 2
    assert f"cannot listen on tcp://127.0.0.1:{port}" in result.stderr
    assert "--bind" in result.stderr
    assert not (tmp_path / "runs").exists()  # nothing written


def test_on_a_terminal_headless_shows_a_live_status_line(tmp_path: Path) -> None:
    import os
    import pty

    search = write_search(
        tmp_path, name="tty", space='seconds = { type = "choice", values = [0.3, 0.31, 0.32] }'
    )
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", str(search), "--headless", "--local-nodes", "1"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=_env(),
    )
    os.close(terminal)
    output = b""
    try:
        while True:  # read until the process closes the terminal (EOF / EIO)
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    text = output.decode(errors="replace")
    assert "\r\x1b[2K[running]" in text  # the status line is redrawn in place
    assert "trials/s" in text and "ETA" in text
    assert "best trial" in text


def test_summary_says_why_trials_failed(tmp_path: Path) -> None:
    search = write_search(
        tmp_path, name="fails", space='fail = { type = "choice", values = [false, true] }'
    )
    result = _run(str(search), "--headless", "--local-nodes", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "search finished: 1 scored, 1 failed" in result.stdout
    assert "failed trial 1 {'fail': True}: ValueError: sleep_classifier asked to fail" in (
        result.stdout
    )


def test_without_nodes_it_says_how_to_start_one_and_waits(tmp_path: Path) -> None:
    search = write_search(tmp_path, name="alone")
    out = tmp_path / "out.log"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", str(search), "--headless", "--local-nodes", "0"],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
    try:
        wait_until(lambda: "no node has joined yet" in out.read_text(), 30, "the hint")
        assert "hpo-node --connect tcp://127.0.0.1:" in out.read_text()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def write_csv_search_without_its_target(tmp_path: Path) -> Path:
    """A search that passes the file check but not the pre-flight: its CSV has no `kind`."""
    (tmp_path / "flowers.csv").write_text(
        "width,length,species\n" + "".join(f"{i % 7},{i % 5},{i % 3}\n" for i in range(60))
    )
    search = write_search(tmp_path, name="flowers", dataset=f"file:{tmp_path / 'flowers.csv'}")
    text = search.read_text().replace("[dataset]\n", '[dataset]\ntarget = "kind"\n')
    search.write_text(text)
    return search


def test_a_search_failing_its_pre_flight_exits_2_before_anything_is_written(
    tmp_path: Path,
) -> None:
    search = write_csv_search_without_its_target(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _run(str(search), "--headless", "--local-nodes", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "target column 'kind' is missing" in result.stderr
    assert str(search) in result.stderr  # the file is named with the reason
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no checkpoint, no runs/
