"""Render the SluiS chart the way an operator installs it, for the chart tests.

The real Helm engine (helm-python-sdk, import name `helm_python`) renders offline: no
cluster, no helm binary. Values are layered exactly like `helm -f values.yaml -f
values-<region>.yaml`: maps merge key by key, everything else is replaced by the later file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART_DIR = Path(__file__).resolve().parents[1] / "sluis"
# Every values-<region>.yaml is a region; a new region file is tested without further ado.
REGIONS = tuple(sorted(p.stem.removeprefix("values-") for p in CHART_DIR.glob("values-*.yaml")))
SERVICES = ("gateway", "identity", "signal", "match", "notify")
GRPC_SERVICES = ("identity", "signal", "match", "notify")
RELEASE = "sluis"

Manifest = dict[str, Any]


def namespace_of(region: str) -> str:
    """One namespace per region, as docs/operations.md installs it."""
    return f"sluis-{region}"


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Layer one values file over another, as the helm CLI does for repeated -f."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = merge_values(current, value)
        else:
            out[key] = value
    return out


def read_values_file(path: Path) -> dict[str, Any]:
    """Parse a values file with Helm's own YAML reader."""
    return helm.values_from_yaml(path.read_text(encoding="utf-8"))


def values_files(region: str) -> list[Path]:
    return [CHART_DIR / "values.yaml", CHART_DIR / f"values-{region}.yaml"]


def layered_values(*files: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in files:
        values = merge_values(values, read_values_file(path))
    return values


def region_values(region: str) -> dict[str, Any]:
    """What `-f values.yaml -f values-<region>.yaml` hands to Helm."""
    return layered_values(*values_files(region))


def federation_values(region: str) -> dict[str, Any]:
    """A region with its peering switched on: the test overlay values-federation-<region>.yaml
    (next to these tests) on top of the region's own files."""
    return layered_values(*values_files(region), Path(__file__).parent / f"values-federation-{region}.yaml")


@dataclasses.dataclass(frozen=True)
class Render:
    """One rendered release: the manifests (hooks included) and the NOTES."""

    region: str
    values: dict[str, Any]
    manifests: tuple[Manifest, ...]
    text: str
    notes: str

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def get(self, kind: str, name: str) -> Manifest:
        for manifest in self.of_kind(kind):
            if manifest["metadata"]["name"] == name:
                return manifest
        raise KeyError(f"{kind}/{name} not rendered")

    def kinds_and_names(self) -> set[tuple[str, str]]:
        return {(m["kind"], m["metadata"]["name"]) for m in self.manifests}

    def pod_templates(self) -> Iterator[tuple[Manifest, Manifest]]:
        """(workload, pod template) for every Deployment and Job."""
        for manifest in self.manifests:
            if manifest["kind"] in ("Deployment", "Job"):
                yield manifest, manifest["spec"]["template"]


def name_of(service: str) -> str:
    """The resource name of one service in a release named RELEASE."""
    return f"{RELEASE}-{service}"


def render(chart: helm.Chart, values: dict[str, Any], region: str) -> Render:
    """Render like `helm install` would (offline); raises HelmValuesError/HelmRenderError."""
    files = chart.render(values, name=RELEASE, namespace=namespace_of(region), is_install=True)
    manifests: list[Manifest] = []
    texts: list[str] = []
    notes = ""
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        texts.append(text)
        for document in yaml.safe_load_all(text):
            if document:
                manifests.append(document)
    return Render(
        region=region, values=values, manifests=tuple(manifests), text="\n".join(texts), notes=notes
    )


def service_of(manifest: Manifest) -> str:
    """The app.kubernetes.io/component label: the service, or '<service>-migrate' etc."""
    component: str = manifest["metadata"]["labels"]["app.kubernetes.io/component"]
    return component


def containers_of(pod_template: Manifest) -> list[Manifest]:
    spec = pod_template["spec"]
    containers: list[Manifest] = [*spec.get("initContainers", []), *spec["containers"]]
    return containers
