"""Fixtures shared by the system tests: every headless console a test starts is killed after it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system_tests.fault_helpers import Consoles


@pytest.fixture
def consoles(tmp_path: Path) -> Iterator[Consoles]:
    started = Consoles(tmp_path)
    yield started
    started.close()
