"""zmq-hpo node: runs trials for a console (no Textual here: the node image installs without it)."""

from __future__ import annotations


def package_version() -> str:
    """The installed zmq-hpo version, for --version and HELLO."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zmq-hpo")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"
