"""The architecture's import rules ([tool.importlinter] in pyproject.toml), checked by
import-linter over the real packages: node needs nothing of the console, the engine needs no
Textual, and widgets see only the view models."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.timeout(120)


def _lint_imports(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert binary, "import-linter is a dev dependency: pip install -e '.[dev]'"
    return subprocess.run(
        [binary, "--no-cache", *args], cwd=cwd, capture_output=True, text=True, timeout=110
    )


def test_every_layer_contract_is_kept() -> None:
    done = _lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    """The checker does find a forbidden import: widgets do import the view models."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["console"]\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "widgets without view models (false on purpose)"\n'
        'type = "forbidden"\nsource_modules = ["console.tui.widgets"]\n'
        'forbidden_modules = ["console.view.models"]\n'
    )
    done = _lint_imports(str(config))
    assert done.returncode != 0 and "1 broken" in done.stdout, done.stdout + done.stderr
