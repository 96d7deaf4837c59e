"""The two regions come from the same templates: their releases differ only where their
values files differ (CloudNativePG, autoscaling, replicas, municipalities, peers, where
outside services live). Region names are normalised first, so hosts and Secret names that
merely contain the region id compare equal."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sluis_chart import SERVICES, Render, name_of

# Where a region's values may show up in a resource both regions have, and why.
REGION_DRIVEN_PATHS = {
    r"ConfigMap:data\.SLUIS_(REGION_)?MUNICIPALITIES": "region.municipalities",
    r"ConfigMap:data\.SLUIS_PEER_REGIONS": "region.peerRegions",
    r"Job:spec\.template\.spec\.containers\.migrate\.env\.SLUIS_(REGION_MUNICIPALITIES|MUNICIPALITIES|PEER_REGIONS)\.value": "region",
    r"Deployment:spec\.template\.metadata\.annotations\.checksum/config": "the ConfigMap above",
    r"Deployment:spec\.replicas": "services.<name>.replicas, or the HPA owns it",
    r"HorizontalPodAutoscaler:spec\.(min|max)Replicas": "services.<name>.autoscaling",
    r"(Deployment|Job):.*\.env\.SLUIS_DATABASE_URL\.valueFrom\.secretKeyRef\.(name|key)": "cnpg / database",
    r"Job:metadata\.annotations\.helm\.sh/hook": "cnpg.enabled: migrate post-install",
    r"ConfigMap:data\.SLUIS_(HTTP|NOTIFY)_WORKERS": "services.<name>.env",
    r"Job:spec\.template\.spec\.containers\.migrate\.env\.SLUIS_(HTTP|NOTIFY)_WORKERS": "services.<name>.env",
    r"NetworkPolicy:spec\.egress\.TCP/5432\.to": "cnpg.enabled / networkPolicy.egress.database",
    r"NetworkPolicy:spec\.egress\.TCP/6379\.to": "networkPolicy.egress.redis",
    r"NetworkPolicy:spec\.egress\.TCP/587\.to": "networkPolicy.egress.smtp",
    r"Deployment:spec\.template\.spec\.containers\.[a-z-]+\.resources": "per-region sizing (Rotterdam is larger)",
}


def _normalise(node: Any, region: str) -> Any:
    """Region names to placeholders; named lists (env, containers) and egress rules to maps."""
    if isinstance(node, dict):
        return {key: _normalise(value, region) for key, value in node.items()}
    if isinstance(node, list):
        if node and all(isinstance(item, dict) and "name" in item for item in node):
            return {item["name"]: _normalise(item, region) for item in node}
        if node and all(isinstance(item, dict) and "ports" in item and "to" in item for item in node):
            return {
                ",".join(f"{p['protocol']}/{p['port']}" for p in rule["ports"]): _normalise(rule, region)
                for rule in node
            }
        return [_normalise(item, region) for item in node]
    if isinstance(node, str):
        return node.replace(region, "<region>").replace(region.title(), "<Region>")
    return node


def _differences(a: Any, b: Any, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found: set[str] = set()
        for key in a.keys() | b.keys():
            where = f"{path}.{key}" if path else str(key)
            found |= _differences(a[key], b[key], where) if key in a and key in b else {where}
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return set().union(
            *(_differences(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True)))
        )
    return set() if a == b else {path}


def _autoscaled(rendered: Render) -> set[tuple[str, str]]:
    return {
        ("HorizontalPodAutoscaler", name_of(service))
        for service, settings in rendered.values["services"].items()
        if settings.get("autoscaling", {}).get("enabled")
    }


def test_the_regions_have_the_same_resources_but_for_their_choices(
    render_region: Callable[[str], Render],
) -> None:
    rotterdam, gelderland = render_region("rotterdam"), render_region("gelderland-midden")
    assert rotterdam.values["cnpg"]["enabled"] is False and gelderland.values["cnpg"]["enabled"] is True
    clusters = {("Cluster", f"{name_of(s)}-db") for s in SERVICES}
    # CloudNativePG: the Clusters, their nightly backups and their NetworkPolicies
    clusters |= {
        (kind, f"{name_of(s)}-db") for s in SERVICES for kind in ("ScheduledBackup", "NetworkPolicy")
    }
    assert gelderland.kinds_and_names() - rotterdam.kinds_and_names() == (
        clusters | (_autoscaled(gelderland) - _autoscaled(rotterdam))
    )
    assert rotterdam.kinds_and_names() - gelderland.kinds_and_names() == (
        _autoscaled(rotterdam) - _autoscaled(gelderland)
    )


def test_shared_resources_differ_only_where_region_values_go(
    render_region: Callable[[str], Render],
) -> None:
    rotterdam, gelderland = render_region("rotterdam"), render_region("gelderland-midden")
    unexplained: list[str] = []
    seen: set[str] = set()
    for kind, name in sorted(rotterdam.kinds_and_names() & gelderland.kinds_and_names()):
        a = _normalise(rotterdam.get(kind, name), rotterdam.region)
        b = _normalise(gelderland.get(kind, name), gelderland.region)
        for path in sorted(_differences(a, b)):
            where = f"{kind}:{path}"
            # a listed path covers everything below it
            matched = [p for p in REGION_DRIVEN_PATHS if re.fullmatch(rf"{p}([.\[].*)?", where)]
            seen.update(matched)
            if not matched:
                unexplained.append(f"{name}: {where}")
    assert unexplained == []
    # every listed path is really exercised by the two regions (the list does not rot)
    assert seen == set(REGION_DRIVEN_PATHS)
