"""The deployment docs stay true to the code: the Kubernetes example, env names, the diagram."""

from __future__ import annotations

import re

import yaml

from node.curve import CONSOLE, NODE, PUBLIC_SUFFIX, SECRET_SUFFIX
from tests.conftest import REPO

K8S_NODES = REPO / "docs" / "kubernetes" / "nodes.yaml"
ARCHITECTURE = REPO / "docs" / "architecture.md"
README = REPO / "README.md"
COMPOSE = REPO / "docker-compose.yml"

HPO_NAME = re.compile(r"\bHPO_[A-Z0-9_]+\b")
# How the code reads a variable: os.environ.get("X"), os.environ["X"], os.getenv("X"), _env("X").
ENV_READ = re.compile(r"""(?:environ\.get|getenv|_env)\(\s*["'](HPO_[A-Z0-9_]+)["']""")
ENV_INDEX = re.compile(r"""environ\[\s*["'](HPO_[A-Z0-9_]+)["']\s*\]""")
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def _read_by_code() -> set[str]:
    """HPO_* variables that node/ or console/ code reads from the environment."""
    names: set[str] = set()
    for package in ("node", "console"):
        for source in (REPO / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            names |= set(ENV_READ.findall(text)) | set(ENV_INDEX.findall(text))
    return names


def _compose_settings() -> set[str]:
    """HPO_* variables docker-compose.yml interpolates (${HPO_...}): settings of that file."""
    if not COMPOSE.exists():
        return set()
    return set(re.findall(r"\$\{(HPO_[A-Z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))


def _readme_section(title: str) -> str:
    """One `## ` section of the README, up to the next one."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _k8s_documents() -> dict[str, dict]:
    docs = [doc for doc in yaml.safe_load_all(K8S_NODES.read_text(encoding="utf-8")) if doc]
    return {doc["kind"]: doc for doc in docs}


def test_the_code_reads_the_variables_this_test_relies_on() -> None:
    # Guards the scan itself: if these are not found, the checks below would prove nothing.
    assert {"HPO_CONNECT", "HPO_NODE_KEYS", "HPO_SLOTS", "HPO_CACHE_DIR"} <= _read_by_code()


def test_kubernetes_example_is_a_secret_and_a_deployment_that_fit_together() -> None:
    docs = _k8s_documents()
    assert set(docs) == {"Secret", "Deployment"}
    secret, deployment = docs["Secret"], docs["Deployment"]
    # The Secret holds exactly what a node bundle needs (node/curve.py's file names).
    bundle_files = {f"{NODE}{SECRET_SUFFIX}", f"{CONSOLE}{PUBLIC_SUFFIX}"}
    assert set(secret.get("stringData") or secret.get("data")) == bundle_files

    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert spec["replicas"] >= 1
    # SIGTERM hands trials back; the pod must be given the time to do it.
    assert pod["terminationGracePeriodSeconds"] >= 30
    # Non-root, and the Secret readable by the pod's group but not by others.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    keys_volume = next(v for v in volumes.values() if "secret" in v)
    assert keys_volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert keys_volume["secret"]["defaultMode"] & 0o007 == 0

    (container,) = pod["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert {"HPO_CONNECT", "HPO_NODE_KEYS", "HPO_SLOTS"} <= env.keys()
    assert env["HPO_CONNECT"]["value"].startswith("tcp://")  # what hpo-node accepts
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    keys_mount = mounts[keys_volume["name"]]
    assert keys_mount["readOnly"] is True
    assert env["HPO_NODE_KEYS"]["value"] == keys_mount["mountPath"]
    # As many slots as CPUs requested: the default (the machine's CPU count) would oversubscribe.
    assert int(env["HPO_SLOTS"]["value"]) == int(container["resources"]["requests"]["cpu"])
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()


def test_every_hpo_variable_in_the_kubernetes_example_is_read_by_the_code() -> None:
    named = set(HPO_NAME.findall(K8S_NODES.read_text(encoding="utf-8")))
    assert named, "the example names no HPO_* variable"
    assert named <= _read_by_code(), f"not read by any code: {sorted(named - _read_by_code())}"


def test_every_hpo_variable_in_the_many_hosts_section_exists() -> None:
    named = set(HPO_NAME.findall(_readme_section("Running nodes on many hosts")))
    known = _read_by_code() | _compose_settings()
    assert {"HPO_CONNECT", "HPO_NODE_KEYS"} <= named
    assert named <= known, f"neither read by the code nor a compose setting: {named - known}"


def test_architecture_doc_has_a_mermaid_block_and_links_its_rendered_image() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert re.search(r"^```mermaid\n.*?^```$", text, re.MULTILINE | re.DOTALL)
    images = IMAGE_LINK.findall(text)
    assert images, "docs/architecture.md shows no image"
    for image in images:
        path = ARCHITECTURE.parent / image
        assert path.is_file(), f"{image} is linked but missing"
    svg = next(ARCHITECTURE.parent / image for image in images if image.endswith(".svg"))
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]


def test_relative_links_in_the_deployment_docs_resolve() -> None:
    sources = {
        ARCHITECTURE: ARCHITECTURE.read_text(encoding="utf-8"),
        README: _readme_section("Running nodes on many hosts"),
    }
    for source, text in sources.items():
        for target in MARKDOWN_LINK.findall(text):
            if target.startswith("#") or "://" in target:
                continue
            path = source.parent / target.split("#", 1)[0]
            assert path.exists(), f"{source.name} links {target}, which does not exist"
