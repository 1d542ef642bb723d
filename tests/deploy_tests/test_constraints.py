"""constraints.txt pins what the image installs: every dependency pyproject.toml names (the
node's and the console extra's) has an exact pin there, inside pyproject's range, so the image
cannot drift from the tested versions without this test saying so."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy_tests.compose_local import DOCKERFILE, REPO

CONSTRAINTS = REPO / "constraints.txt"


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (NAME==VERSION)"
            found[canonicalize_name(name)] = version.strip()
    return found


def image_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["console"]]
    return [Requirement(text) for text in declared]


def test_every_dependency_the_image_installs_is_pinned_inside_its_range() -> None:
    pinned = pins()
    for requirement in image_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is in pyproject.toml but not constraints.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside pyproject's {requirement}"
        )


def test_the_dockerfile_installs_with_the_constraints() -> None:
    text = DOCKERFILE.read_text()
    assert "--constraint constraints.txt" in text
    assert "COPY pyproject.toml README.md constraints.txt ./" in text
