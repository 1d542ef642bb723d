"""Dependencies point one way: the node (and the console's engine) never import Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "modules",
    [
        "node, node.__main__, node.worker, node.runner, node.trial, node.protocol, node.transport",
        "console.scheduler.core, console.headless, console.searchfile.toml_io, console.search.base",
    ],
)
def test_no_textual_in_sys_modules(modules: str) -> None:
    code = f"import sys, {modules}; assert 'textual' not in sys.modules, 'textual imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_nodes_never_import_optuna() -> None:
    """Optuna is a console dependency: the node image need not have it."""
    modules = "node, node.__main__, node.worker, node.runner, node.trial, node.protocol"
    code = f"import sys, {modules}; assert 'optuna' not in sys.modules, 'optuna imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
