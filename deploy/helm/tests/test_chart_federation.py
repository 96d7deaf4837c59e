"""Issue 19, the chart side of federation: both regions render with their peering switched
on (the overlays values-federation-<region>.yaml), lint clean and are valid Kubernetes;
match gets the settings, the certificate mount and one peer-facing Service; the
NetworkPolicies let match reach only the configured peers and admit only them on the
federation port, and change nothing else. A peering the services could not run, or that
would open more than the agreement, fails the render with the value to fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import helm_python as helm
import pytest
import test_chart_policy as policies
from sluis_chart import (
    REGIONS,
    Manifest,
    Render,
    federation_values,
    merge_values,
    name_of,
    namespace_of,
    region_values,
    render,
)
from test_chart_render import KUBE_VERSIONS, assert_lints_clean, validation_problems

FEDERATION_DIR = "/etc/sluis/federation"


def _peers(rendered: Render) -> list[dict[str, Any]]:
    peers: list[dict[str, Any]] = rendered.values["federation"]["peers"]
    return peers


def _match_container(rendered: Render) -> Manifest:
    (container,) = rendered.get("Deployment", name_of("match"))["spec"]["template"]["spec"]["containers"]
    return container


# --- renders, lints, validates ----------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_both_regions_lint_clean_with_federation(region: str) -> None:
    assert_lints_clean(federation_values(region), region)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("region", REGIONS)
def test_both_regions_are_valid_kubernetes_with_federation(
    render_federated: Callable[[str], Render], region: str, kube_version: str
) -> None:
    rendered = render_federated(region)
    assert rendered.values["federation"]["enabled"] is True
    problems, _ = validation_problems(rendered, kube_version)
    assert problems == []


def test_the_region_files_ship_federation_switched_off(render_region: Callable[[str], Render]) -> None:
    """A peering starts with a signed agreement: the region files carry it commented out."""
    for region in REGIONS:
        rendered = render_region(region)
        assert rendered.values["federation"]["enabled"] is False
        assert not [k for k in rendered.get("ConfigMap", name_of("match"))["data"] if "FEDERATION" in k]
        assert (
            "Service",
            f"{name_of('match')}-federation",
        ) not in rendered.kinds_and_names()
        assert "federation" not in str(rendered.get("Deployment", name_of("match"))["spec"])


@pytest.mark.parametrize(
    "check",
    [
        policies.test_every_pod_is_default_deny_both_ways,
        policies.test_no_rule_opens_everything,
        policies.test_grpc_traffic_is_exactly_the_architecture,
        policies.test_identity_admits_only_gateway_signal_and_match,
        policies.test_every_pod_may_resolve_names,
        policies.test_outside_dependencies_only_where_needed,
        policies.test_the_chart_holds_no_secret,
        policies.test_the_rendered_text_contains_no_credentials,
        policies.test_every_pod_runs_restricted,
        policies.test_tmp_is_the_only_writable_path,
        policies.test_migration_job_gets_the_services_settings,
        policies.test_services_select_their_deployment,
    ],
    ids=lambda check: check.__name__.removeprefix("test_"),
)
@pytest.mark.parametrize("region", REGIONS)
def test_the_chart_policies_hold_with_federation(
    render_federated: Callable[[str], Render], region: str, check: Callable[[Render], None]
) -> None:
    check(render_federated(region))


# --- match: settings, certificate, Service ----------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_match_gets_the_settings_of_its_peers(render_federated: Callable[[str], Render], region: str) -> None:
    rendered = render_federated(region)
    env = rendered.get("ConfigMap", name_of("match"))["data"]
    peers = _peers(rendered)
    assert env["SLUIS_FEDERATION_LISTEN"] == "0.0.0.0:7443"
    assert env["SLUIS_FEDERATION_TLS_DIR"] == FEDERATION_DIR
    assert env["SLUIS_FEDERATION_PEERS"] == ",".join(f"{p['region']}={p['endpoint']}" for p in peers)
    assert env["SLUIS_FEDERATION_PINS"] == ",".join(
        f"{p['region']}=" + "|".join(pin.lower() for pin in p["pins"]) for p in peers
    )
    assert env["SLUIS_FEDERATION_SHARE"] == ",".join(
        f"{p['region']}=" + "|".join(p["shareOrganisations"]) for p in peers
    )
    # match translates pseudonyms through identity
    namespace = namespace_of(region)
    assert (
        env["SLUIS_IDENTITY_ADDR"]
        == f"dns:///{name_of('identity')}-headless.{namespace}.svc.cluster.local:50051"
    )
    # only match serves peers
    for service in ("gateway", "identity", "signal", "notify"):
        assert not [k for k in rendered.get("ConfigMap", name_of(service))["data"] if "FEDERATION" in k]


def test_a_rollover_pins_both_certificates(render_federated: Callable[[str], Render]) -> None:
    env = render_federated("gelderland-midden").get("ConfigMap", name_of("match"))["data"]
    (pair,) = env["SLUIS_FEDERATION_PINS"].split(",")
    region, pins = pair.split("=")
    assert region == "rotterdam" and len(pins.split("|")) == 2
    assert pins == pins.lower()


@pytest.mark.parametrize("region", REGIONS)
def test_match_mounts_the_federation_certificate_read_only(
    render_federated: Callable[[str], Render], region: str
) -> None:
    rendered = render_federated(region)
    pod = rendered.get("Deployment", name_of("match"))["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "federation")
    assert volume == {
        "name": "federation",
        "secret": {"secretName": rendered.values["federation"]["tlsSecret"], "defaultMode": 0o400},
    }
    container = _match_container(rendered)
    assert {"name": "federation", "mountPath": FEDERATION_DIR, "readOnly": True} in container["volumeMounts"]
    assert {"name": "federation", "containerPort": 7443, "protocol": "TCP"} in container["ports"]
    # no other workload gets the certificate
    for deployment in rendered.of_kind("Deployment"):
        if deployment["metadata"]["name"] != name_of("match"):
            assert "federation" not in str(deployment["spec"]["template"]["spec"]["volumes"])


@pytest.mark.parametrize("region", REGIONS)
def test_one_service_exposes_the_federation_port_and_the_ingress_stays_the_gateways(
    render_federated: Callable[[str], Render], region: str
) -> None:
    rendered = render_federated(region)
    fed = rendered.values["federation"]
    service = rendered.get("Service", f"{name_of('match')}-federation")
    assert service["spec"]["type"] == fed["service"]["type"]
    assert (
        service["spec"]["selector"]
        == rendered.get("Deployment", name_of("match"))["spec"]["selector"]["matchLabels"]
    )
    assert service["spec"]["ports"] == [
        {"name": "federation", "port": fed["port"], "targetPort": "federation", "protocol": "TCP"}
    ]
    if fed["service"]["type"] == "LoadBalancer":
        assert service["spec"]["externalTrafficPolicy"] == "Local"  # the peer's address reaches the policy
        assert service["spec"]["loadBalancerSourceRanges"] == [p["cidr"] for p in _peers(rendered)]
        assert service["metadata"]["annotations"] == fed["service"]["annotations"]
    exposed = [s for s in rendered.of_kind("Service") if s["spec"].get("type", "ClusterIP") != "ClusterIP"]
    assert [s["metadata"]["name"] for s in exposed] in ([], [f"{name_of('match')}-federation"])
    (ingress,) = rendered.of_kind("Ingress")
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {name_of("gateway")}


# --- network policies -------------------------------------------------------------------


def _outside(rules: list[Manifest], key: str) -> list[Manifest]:
    """Rules whose peers are ipBlocks (outside the cluster)."""
    return [r for r in rules if all("ipBlock" in peer for peer in r[key])]


@pytest.mark.parametrize("region", REGIONS)
def test_match_reaches_only_the_configured_peers(
    render_federated: Callable[[str], Render], region: str
) -> None:
    rendered = render_federated(region)
    spec = rendered.get("NetworkPolicy", name_of("match"))["spec"]
    peers = _peers(rendered)
    database = rendered.values["networkPolicy"]["egress"]["database"]["to"]
    federation_egress = [r for r in _outside(spec["egress"], "to") if r["to"] != database]
    assert federation_egress == [
        {
            "to": [{"ipBlock": {"cidr": p["cidr"]}}],
            "ports": [{"protocol": "TCP", "port": int(p["endpoint"].rsplit(":", 1)[1])}],
        }
        for p in peers
    ]
    # ... and admits, on the federation port only, only the peers' networks
    assert _outside(spec["ingress"], "from") == [
        {
            "from": [{"ipBlock": {"cidr": p["cidr"]}} for p in peers],
            "ports": [{"protocol": "TCP", "port": rendered.values["federation"]["port"]}],
        }
    ]
    for rule in spec["egress"] + spec["ingress"]:
        for peer in rule.get("to", rule.get("from", [])):
            assert "except" not in peer.get("ipBlock", {})


@pytest.mark.parametrize("region", REGIONS)
def test_federation_changes_no_other_policy(
    render_federated: Callable[[str], Render], render_region: Callable[[str], Render], region: str
) -> None:
    plain, fed = render_region(region), render_federated(region)
    plain_policies = {p["metadata"]["name"]: p for p in plain.of_kind("NetworkPolicy")}
    fed_policies = {p["metadata"]["name"]: p for p in fed.of_kind("NetworkPolicy")}
    assert set(plain_policies) == set(fed_policies)
    for name, policy in plain_policies.items():
        if name == name_of("match"):
            continue
        assert fed_policies[name] == policy, name
    # match's own policy only gains the federation rules
    before, after = plain_policies[name_of("match")]["spec"], fed_policies[name_of("match")]["spec"]
    assert [r for r in after["ingress"] if r not in before["ingress"]] == _outside(after["ingress"], "from")
    assert all(r in after["ingress"] for r in before["ingress"])
    assert all(r in after["egress"] for r in before["egress"])
    added = [r for r in after["egress"] if r not in before["egress"]]
    assert len(added) == len(_peers(fed))


# --- a peering the render refuses --------------------------------------------------------

PEER = {
    "region": "gelderland-midden",
    "endpoint": "federation.sluis.gelderland-midden.example:7443",
    "cidr": "192.0.2.80/29",
    "pins": ["ff2e034da8a4577974f2e525f684d4b0fb715ceb85b37a3e3add13e7d69e0536"],
    "shareOrganisations": ["*"],
}


def _with_peer(**change: Any) -> dict[str, Any]:
    peer = {k: v for k, v in {**PEER, **change}.items() if v is not None}
    return {"federation": {"peers": [peer]}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"federation": {"tlsSecret": ""}}, "federation.tlsSecret is required"),
        ({"federation": {"peers": []}}, "federation.peers is empty"),
        (_with_peer(endpoint=None), "federation.peers[0] (gelderland-midden).endpoint is required"),
        (_with_peer(endpoint="federation.example"), ".endpoint must be host:port"),
        (_with_peer(cidr=None), "federation.peers[0] (gelderland-midden).cidr is required"),
        (_with_peer(cidr="0.0.0.0/0"), ".cidr must be a network"),
        (_with_peer(cidr="192.0.2.80"), ".cidr must be a network"),
        (_with_peer(pins=None), "federation.peers[0] (gelderland-midden).pins is required"),
        (_with_peer(pins=[]), "federation.peers[0] (gelderland-midden).pins is required"),
        (_with_peer(pins=["ff2e034d"]), "is not a SHA-256 (64 hex characters)"),
        (_with_peer(pins=["z" * 64]), "is not a SHA-256 (64 hex characters)"),
        (_with_peer(region="rotterdam"), "a region cannot be its own peer"),
        (_with_peer(region="utrecht"), "utrecht is not in region.peerRegions"),
        (
            {"region": {"peerRegions": ["gelderland-midden", "utrecht"]}, **_with_peer(region="utrecht")},
            "services.identity.peerKeys.utrecht is missing",
        ),
        ({"federation": {"peers": [PEER, PEER]}}, "the region is listed twice"),
        (_with_peer(shareOrganisations=["*", "0b9f6c1e-3d2a-4c5b-8e7f-1a2b3c4d5e6f"]), "stands alone"),
        (_with_peer(shareOrganisations=["Wijkteam Noord"]), "is not an organisation id"),
    ],
)
def test_an_incomplete_or_wider_peering_fails_the_render(
    chart: helm.Chart, override: dict[str, Any], message: str
) -> None:
    values = merge_values(federation_values("rotterdam"), override)
    with pytest.raises((helm.HelmValuesError, helm.HelmRenderError)) as caught:
        render(chart, values, "rotterdam")
    assert message in str(caught.value)


def test_without_a_peer_key_for_the_peer_the_render_fails(chart: helm.Chart) -> None:
    values = federation_values("rotterdam")
    values["services"]["identity"]["peerKeys"] = {}
    with pytest.raises(helm.HelmRenderError) as caught:
        render(chart, values, "rotterdam")
    assert "services.identity.peerKeys.gelderland-midden is missing" in str(caught.value)


def test_switched_off_the_peers_may_be_prepared(chart: helm.Chart) -> None:
    """The region files keep a ready block: with enabled false nothing is checked or rendered."""
    values = merge_values(region_values("rotterdam"), {"federation": {"peers": [{"region": "x"}]}})
    rendered = render(chart, values, "rotterdam")
    assert "SLUIS_FEDERATION_PEERS" not in rendered.get("ConfigMap", name_of("match"))["data"]


def test_the_notes_name_the_federation_peers(render_federated: Callable[[str], Render]) -> None:
    notes = render_federated("rotterdam").notes
    assert "Federation (match, mTLS, pinned): port 7443 on Service sluis-match-federation" in notes
    assert "gelderland-midden (federation.sluis.gelderland-midden.example:7443)" in notes


def test_a_peer_without_a_share_list_gets_no_contact_details_and_ipv6_endpoints_work(
    chart: helm.Chart,
) -> None:
    peer = {**PEER, "endpoint": "[2001:db8::7]:8443", "cidr": "2001:db8::/64"}
    del peer["shareOrganisations"]
    rendered = render(
        chart, merge_values(federation_values("rotterdam"), {"federation": {"peers": [peer]}}), "rotterdam"
    )
    env = rendered.get("ConfigMap", name_of("match"))["data"]
    assert env["SLUIS_FEDERATION_SHARE"] == ""  # organisations cross by name only
    assert env["SLUIS_FEDERATION_PEERS"] == "gelderland-midden=[2001:db8::7]:8443"
    egress = rendered.get("NetworkPolicy", name_of("match"))["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "2001:db8::/64"}}],
        "ports": [{"protocol": "TCP", "port": 8443}],
    } in egress
