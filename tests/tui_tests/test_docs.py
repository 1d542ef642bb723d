"""The README's key table documents every key the console binds."""

from __future__ import annotations

import re

from console.tui.keys import ALL_KEYS as BINDINGS
from console.tui.screens.help import key_names
from tests.conftest import REPO


def test_readme_key_table_lists_every_binding() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("| key | action |") :].split("\n\n")[0]
    documented = {key.lower() for key in re.findall(r"`([^`]+)`", table)}
    for binding in BINDINGS:
        for key in key_names(binding).split(" / "):
            assert key.lower() in documented, f"README key table misses {key!r}"
