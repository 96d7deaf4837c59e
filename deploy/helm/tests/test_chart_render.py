"""The chart renders for every region with the real Helm engine, lints clean, and every
manifest is valid Kubernetes (strict schemas: unknown fields are errors)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import helm_python as helm
import pytest
from kubernetes_validate import utils as kube
from sluis_chart import CHART_DIR, REGIONS, SERVICES, Render, name_of, namespace_of, region_values


def _recent_minors(count: int) -> tuple[str, ...]:
    """The `count` most recent Kubernetes minor versions the installed kubernetes-validate
    has schemas for (e.g. 1.35, 1.36, 1.37)."""
    major, minor, _ = (int(p) for p in kube.latest_version().split("."))
    return tuple(f"{major}.{minor - back}.0" for back in reversed(range(count)))


# The three most recent minors kubernetes-validate knows, and the oldest the chart supports
# (Chart.yaml kubeVersion): a field missing from any of them fails here.
KUBE_VERSIONS = ("1.30.0", *_recent_minors(3))
LINT_KUBE_VERSION = "v1.33.0"

# Custom resources kubernetes-validate has no schema for; their shape is asserted below and
# in test_chart_operators.py.
NOT_IN_KUBERNETES_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("cert-manager.io/v1", "Certificate"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}


def assert_lints_clean(values: dict[str, Any], region: str) -> None:
    report = helm.lint(
        CHART_DIR,
        values,
        strict=True,
        namespace=namespace_of(region),
        kube_version=LINT_KUBE_VERSION,
    )
    assert report["errors"] == []
    # severity 2 = warning, 3 = error; 1 (info) is only "icon is recommended"
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def validation_problems(rendered: Render, kube_version: str) -> tuple[list[str], int]:
    """(what kubernetes-validate refuses, how many manifests it checked)."""
    problems: list[str] = []
    checked = 0
    for manifest in rendered.manifests:
        kind = f"{manifest['kind']}/{manifest['metadata']['name']}"
        if (manifest["apiVersion"], manifest["kind"]) in NOT_IN_KUBERNETES_SCHEMAS:
            continue
        checked += 1
        try:
            kube.validate(manifest, kube_version, strict=True)
        except kube.ValidationError as exc:
            path = "/".join(str(p) for p in exc.absolute_path)
            problems.append(f"{kind}: {path}: {exc.message}")
        except kube.SchemaNotFoundError:
            problems.append(f"{kind}: no Kubernetes {kube_version} schema for {manifest['apiVersion']}")
    return problems, checked


@pytest.mark.parametrize("region", REGIONS)
def test_lint_reports_no_errors_or_warnings(region: str) -> None:
    assert_lints_clean(region_values(region), region)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_manifest_is_valid_kubernetes(rendered: Render, kube_version: str) -> None:
    problems, checked = validation_problems(rendered, kube_version)
    assert problems == []
    # 5 services x (Deployment, Service, ConfigMap, PDB, 2 NetworkPolicies, Job) + Ingress
    assert checked >= 36


def test_only_known_custom_resources_are_skipped(rendered: Render) -> None:
    custom = {
        (m["apiVersion"], m["kind"]) for m in rendered.manifests if "." in m["apiVersion"].split("/")[0]
    }
    builtin_groups = {"networking.k8s.io", "policy", "autoscaling", "apps", "batch"}
    unexpected = {
        (api, kind)
        for api, kind in custom
        if api.split("/")[0] not in builtin_groups and (api, kind) not in NOT_IN_KUBERNETES_SCHEMAS
    }
    assert unexpected == set()


def test_cloudnativepg_clusters_have_the_expected_shape(render_region: Callable[[str], Render]) -> None:
    rendered = render_region("gelderland-midden")
    assert rendered.values["cnpg"]["enabled"] is True
    clusters = {c["metadata"]["name"]: c for c in rendered.of_kind("Cluster")}
    assert set(clusters) == {f"{name_of(s)}-db" for s in SERVICES}
    for service in SERVICES:
        cluster = clusters[f"{name_of(service)}-db"]
        assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
        assert set(cluster) == {"apiVersion", "kind", "metadata", "spec"}
        spec = cluster["spec"]
        assert set(spec) <= {
            "instances",
            "imageName",
            "postgresql",
            "bootstrap",
            "externalClusters",
            "backup",
            "plugins",
            "storage",
            "resources",
            "inheritedMetadata",
        }
        assert spec["instances"] == rendered.values["cnpg"]["instances"]
        assert spec["bootstrap"] == {"initdb": {"database": service, "owner": service}}
        expected_size = rendered.values["services"][service]["database"].get(
            "storageSize", rendered.values["cnpg"]["storage"]["size"]
        )
        assert spec["storage"]["size"] == expected_size
        assert set(spec["resources"]) == {"requests", "limits"}
        # `helm uninstall` must never take a database with it
        assert cluster["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert clusters[f"{name_of('signal')}-db"]["spec"]["storage"]["size"] == "10Gi"


def test_existing_postgresql_region_renders_no_clusters(render_region: Callable[[str], Render]) -> None:
    assert render_region("rotterdam").of_kind("Cluster") == []


def test_notes_name_the_region_and_host(rendered: Render) -> None:
    assert f"region {rendered.values['region']['id']}" in rendered.notes
    assert f"https://{rendered.values['ingress']['host']}/" in rendered.notes


def _documented_paths(node: dict[str, Any], definitions: dict[str, Any], prefix: str) -> set[str]:
    """Every value path the schema allows, down to the objects the README documents whole."""
    if "$ref" in node:
        node = definitions[node["$ref"].rsplit("/", 1)[1]]
    properties: dict[str, Any] = node.get("properties", {})
    leaf = prefix.rsplit(".", 1)[-1] in DOCUMENTED_WHOLE
    if not properties or leaf:
        return {prefix}
    paths: set[str] = set()
    for key, child in properties.items():
        paths |= _documented_paths(child, definitions, f"{prefix}.{key}" if prefix else key)
    return paths


DOCUMENTED_WHOLE = {
    "resources",
    "synchronous",
    "affinity",
    "issuerRef",
    "podSecurityContext",
    "containerSecurityContext",
    "startup",
    "readiness",
    "liveness",
}


def test_the_readme_documents_every_value(chart: helm.Chart) -> None:
    schema = chart.schema
    assert schema is not None
    readme = (CHART_DIR / "README.md").read_text(encoding="utf-8")
    missing = []
    for path in sorted(_documented_paths(schema, schema["definitions"], "")):
        generic = re.sub(r"^services\.(gateway|identity|signal|match|notify)\.", "services.<name>.", path)
        if f"`{path}`" not in readme and f"`{generic}`" not in readme:
            missing.append(path)
    assert missing == []
