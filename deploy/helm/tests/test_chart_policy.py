"""Policies on the rendered manifests (the helm-unittest habit): what every pod, service and
region must look like, whatever a values file says."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sluis_chart import (
    GRPC_SERVICES,
    SERVICES,
    Manifest,
    Render,
    containers_of,
    name_of,
    service_of,
)

# The calls of the architecture (docs: issue 8); the NetworkPolicies must allow exactly these.
EXPECTED_CALLS = {
    "gateway": {"identity", "signal", "match", "notify"},
    # the gateway's bulk worker (its own Deployment) calls what the gateway calls
    "bulk-worker": {"identity", "signal", "match", "notify"},
    "signal": {"identity", "match", "notify"},
    "match": {"identity", "notify"},
    "identity": set(),
    "notify": set(),
}
GRPC_PORT = 50051
HTTP_PORT = 8080
SECRET_ENVS = {
    "SLUIS_DATABASE_URL",
    "SLUIS_IDENTITY_KEK",  # never an env var any more: mounted as files (SLUIS_IDENTITY_KEK_DIR)
    "SLUIS_SMTP_PASSWORD",
    "SLUIS_REDIS_URL",
    "SLUIS_SECRET_KEY",
    "SLUIS_NOTIFY_SECRET_KEY",
    "SLUIS_IDENTITY_EXCHANGE_KEY",
    "SLUIS_PROCESSING_LOG_KEY",
}
# Public exchange keys of peer regions look like secrets but are not.
PUBLIC_KEY_ENVS = {"SLUIS_PEER_KEYS"}
SCALING_SERVICES = ("gateway", "signal", "match", "notify")
ADMIN_PORT = 9090


def _image_service(component: str) -> str:
    """Whose image a component runs: the bulk worker and the migrations use their service's."""
    return "gateway" if component == "bulk-worker" else component.removesuffix("-migrate")


def _workloads(rendered: Render) -> list[tuple[Manifest, Manifest]]:
    workloads = list(rendered.pod_templates())
    assert {service_of(w) for w, _ in workloads} == {
        *SERVICES,
        "bulk-worker",
        *(f"{s}-migrate" for s in SERVICES),
    }
    return workloads


def _network_policy(rendered: Render, service: str) -> Manifest:
    return rendered.get("NetworkPolicy", name_of(service))


def _components(peers: list[Manifest]) -> set[str]:
    """The chart components a list of peers admits (podSelector-only peers)."""
    return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in peers}


def _ports(rule: Manifest) -> set[tuple[str, int]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]}


def _is_in_release(peer: Manifest) -> bool:
    """A podSelector-only peer selecting this chart's pods."""
    labels = peer.get("podSelector", {}).get("matchLabels", {})
    return set(peer) == {"podSelector"} and labels.get("app.kubernetes.io/name") == "sluis"


# --- every service has its pieces -------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy"]
)
def test_every_service_has_one(rendered: Render, kind: str) -> None:
    names = {m["metadata"]["name"] for m in rendered.of_kind(kind)}
    assert {name_of(s) for s in SERVICES} <= names


def test_every_service_has_a_migration_hook_job(rendered: Render) -> None:
    jobs = {m["metadata"]["name"]: m for m in rendered.of_kind("Job")}
    assert set(jobs) == {f"{name_of(s)}-migrate" for s in SERVICES}
    hook = "post-install,pre-upgrade" if rendered.values["cnpg"]["enabled"] else "pre-install,pre-upgrade"
    for service in SERVICES:
        job = jobs[f"{name_of(service)}-migrate"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == hook
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"services.{service}", "migrate"]
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_migration_job_gets_the_services_settings(rendered: Render) -> None:
    """Hooks run before the ConfigMap exists, so the Job carries the same settings inline."""
    for service in SERVICES:
        config = rendered.get("ConfigMap", name_of(service))["data"]
        deployment = rendered.get("Deployment", name_of(service))
        job = rendered.get("Job", f"{name_of(service)}-migrate")
        (job_container,) = job["spec"]["template"]["spec"]["containers"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        inline = {e["name"]: e["value"] for e in job_container["env"] if "value" in e}
        assert inline == config
        secret_refs = [e for e in job_container["env"] if "valueFrom" in e]
        assert secret_refs == container["env"]
        assert job_container["image"] == container["image"]


def test_pdb_selects_the_services_pods(rendered: Render) -> None:
    for service in SERVICES:
        pdb = rendered.get("PodDisruptionBudget", name_of(service))
        pod_labels = rendered.get("Deployment", name_of(service))["spec"]["template"]["metadata"]["labels"]
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        assert pdb["spec"]["maxUnavailable"] == rendered.values["services"][service]["pdb"]["maxUnavailable"]


def test_services_select_their_deployment(rendered: Render) -> None:
    for service in SERVICES:
        svc = rendered.get("Service", name_of(service))
        deployment = rendered.get("Deployment", name_of(service))
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        (port,) = svc["spec"]["ports"]
        assert port["port"] == (HTTP_PORT if service == "gateway" else GRPC_PORT)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert port["targetPort"] in {p["name"] for p in container["ports"]}


# --- pods and containers ----------------------------------------------------------------


def test_deployment_containers_have_all_three_probes(rendered: Render) -> None:
    for deployment in rendered.of_kind("Deployment"):
        service = service_of(deployment)
        if service == "bulk-worker":
            continue  # no port to probe: it takes work from the database
        for container in containers_of(deployment["spec"]["template"]):
            probes = {p: container[p] for p in ("startupProbe", "readinessProbe", "livenessProbe")}
            if service == "gateway":
                assert probes["startupProbe"]["httpGet"]["path"] == "/healthz"
                assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
                assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
            else:
                # Plain HTTP on the admin port (works under mTLS); readiness is not liveness.
                assert probes["startupProbe"]["httpGet"] == {"path": "/livez", "port": "admin"}, service
                assert probes["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "admin"}, service
                assert probes["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}, service


def test_every_container_has_requests_and_limits(rendered: Render) -> None:
    for workload, pod in _workloads(rendered):
        for container in containers_of(pod):
            resources = container["resources"]
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[part]), (workload["metadata"]["name"], part)


def test_every_pod_runs_restricted(rendered: Render) -> None:
    for workload, pod in _workloads(rendered):
        name = workload["metadata"]["name"]
        spec = pod["spec"]
        assert spec["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for container in containers_of(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context.get("privileged") in (None, False), name


def test_tmp_is_the_only_writable_path(rendered: Render) -> None:
    for workload, pod in _workloads(rendered):
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert "emptyDir" in volumes["tmp"]
        # Everything else is a Secret mounted read-only (the mTLS certificate, the KEK).
        assert all(set(v) == {"name", "secret"} for n, v in volumes.items() if n != "tmp")
        for container in containers_of(pod):
            mounts = container["volumeMounts"]
            assert {"name": "tmp", "mountPath": "/tmp"} in mounts
            assert all(m.get("readOnly") for m in mounts if m["name"] != "tmp"), workload["metadata"]["name"]


def test_images_are_pinned_by_tag(rendered: Render) -> None:
    image = rendered.values["image"]
    for workload, pod in _workloads(rendered):
        service = _image_service(service_of(workload))
        for container in containers_of(pod):
            ref = container["image"]
            assert ref == f"{image['registry']}/{image['repository']}/{service}:{image['tag']}"
            tag = ref.rsplit(":", 1)[1]
            assert tag and tag.lower() != "latest"
            assert container["imagePullPolicy"] != "Always"


def test_shutdown_grace_is_shorter_than_the_kill(rendered: Render) -> None:
    for service in SERVICES:
        deployment = rendered.get("Deployment", name_of(service))
        data = rendered.get("ConfigMap", name_of(service))["data"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        stopping = float(data["SLUIS_SHUTDOWN_GRACE_SECONDS"]) + float(data.get("SLUIS_DRAIN_SECONDS", 0))
        stopping += container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert stopping < deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_pods_spread_over_zones_and_nodes(rendered: Render) -> None:
    for deployment in rendered.of_kind("Deployment"):
        pod = deployment["spec"]["template"]
        constraints = pod["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in constraints} == {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }
        for constraint in constraints:
            assert constraint["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_config_changes_roll_the_pods(rendered: Render) -> None:
    for deployment in rendered.of_kind("Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/config"])


def test_every_resource_carries_the_standard_labels(rendered: Render) -> None:
    for manifest in rendered.manifests:
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "sluis"
        assert labels["app.kubernetes.io/instance"] == "sluis"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["helm.sh/chart"] == "sluis-0.1.0"
        assert labels["sluis.nl/region"] == rendered.values["region"]["id"]


# --- settings ---------------------------------------------------------------------------


def test_settings_describe_the_region(rendered: Render) -> None:
    region = rendered.values["region"]
    for service in SERVICES:
        data = rendered.get("ConfigMap", name_of(service))["data"]
        assert data["SLUIS_REGION"] == region["id"]
        assert data["OTEL_SERVICE_NAME"] == f"sluis-{service}"
        assert data.get("OTEL_EXPORTER_OTLP_ENDPOINT", "") == rendered.values["otel"]["endpoint"]
    gateway = rendered.get("ConfigMap", name_of("gateway"))["data"]
    assert gateway["SLUIS_MUNICIPALITIES"].split(",") == region["municipalities"]
    assert gateway["SLUIS_HTTP_LISTEN"] == f"0.0.0.0:{HTTP_PORT}"
    identity = rendered.get("ConfigMap", name_of("identity"))["data"]
    assert identity["SLUIS_PEER_REGIONS"].split(",") == region["peerRegions"]
    notify = rendered.get("ConfigMap", name_of("notify"))["data"]
    assert notify["SLUIS_PORTAL_URL"] == f"https://{rendered.values['ingress']['host']}"
    for service in GRPC_SERVICES:
        assert rendered.get("ConfigMap", name_of(service))["data"]["SLUIS_GRPC_LISTEN"] == f"[::]:{GRPC_PORT}"


def test_client_addresses_are_exactly_the_calls(rendered: Render) -> None:
    headless = {
        s["metadata"]["name"] for s in rendered.of_kind("Service") if s["spec"].get("clusterIP") == "None"
    }
    namespace = f"sluis-{rendered.region}"
    for caller, callees in EXPECTED_CALLS.items():
        if caller == "bulk-worker":
            continue  # reads the gateway's ConfigMap
        data = rendered.get("ConfigMap", name_of(caller))["data"]
        addresses = {k: v for k, v in data.items() if re.fullmatch(r"SLUIS_[A-Z]+_ADDR", k)}
        assert set(addresses) == {f"SLUIS_{c.upper()}_ADDR" for c in callees}, caller
        for callee in callees:
            # dns:/// over the headless Service: every ready pod, spread by round_robin
            target = addresses[f"SLUIS_{callee.upper()}_ADDR"]
            host, port = target.removeprefix("dns:///").rsplit(":", 1)
            assert target.startswith("dns:///")
            assert host == f"{name_of(callee)}-headless.{namespace}.svc.cluster.local"
            assert f"{name_of(callee)}-headless" in headless
            assert int(port) == GRPC_PORT


def test_database_urls_come_from_the_right_secret(rendered: Render) -> None:
    cnpg = rendered.values["cnpg"]["enabled"]
    for service in SERVICES:
        (container,) = rendered.get("Deployment", name_of(service))["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        ref = env["SLUIS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        if cnpg:
            assert ref == {"name": f"{name_of(service)}-db-app", "key": "uri"}
        else:
            database = rendered.values["services"][service]["database"]
            assert ref == {"name": database["existingSecret"], "key": database["key"]}


# --- secrets ----------------------------------------------------------------------------


def test_the_chart_holds_no_secret(rendered: Render) -> None:
    assert rendered.of_kind("Secret") == []
    for workload, pod in _workloads(rendered):
        for container in containers_of(pod):
            for env in container.get("env", []):
                if env["name"] in SECRET_ENVS:
                    assert set(env) == {"name", "valueFrom"}, (workload["metadata"]["name"], env["name"])
                    assert set(env["valueFrom"]) == {"secretKeyRef"}
    for config in rendered.of_kind("ConfigMap"):
        assert not SECRET_ENVS & set(config["data"]), config["metadata"]["name"]


def _strings(node: Any) -> list[str]:
    """Every string in a manifest, except the values of public-key settings."""
    if isinstance(node, dict):
        if node.get("name") in PUBLIC_KEY_ENVS:
            return []
        return [s for key, value in node.items() if key not in PUBLIC_KEY_ENVS for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_the_rendered_text_contains_no_credentials(rendered: Render) -> None:
    # a URL with user:password@, a PEM block, or something shaped like a base64 32-byte key
    assert not re.search(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", rendered.text)
    assert "-----BEGIN" not in rendered.text
    for text in (s for manifest in rendered.manifests for s in _strings(manifest)):
        assert not re.search(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=", text)


def test_every_secret_env_is_wired(rendered: Render) -> None:
    # the region files set processingLog (required in production, issue 13)
    expected = {
        "gateway": {"SLUIS_DATABASE_URL", "SLUIS_REDIS_URL", "SLUIS_SECRET_KEY", "SLUIS_PROCESSING_LOG_KEY"},
        "identity": {"SLUIS_DATABASE_URL", "SLUIS_IDENTITY_EXCHANGE_KEY"},
        "signal": {"SLUIS_DATABASE_URL", "SLUIS_PROCESSING_LOG_KEY"},
        "match": {"SLUIS_DATABASE_URL", "SLUIS_PROCESSING_LOG_KEY"},
        "notify": {
            "SLUIS_DATABASE_URL",
            "SLUIS_REDIS_URL",
            "SLUIS_SMTP_PASSWORD",
            "SLUIS_NOTIFY_SECRET_KEY",
            "SLUIS_PROCESSING_LOG_KEY",
        },
    }
    for service, names in expected.items():
        (container,) = rendered.get("Deployment", name_of(service))["spec"]["template"]["spec"]["containers"]
        assert {e["name"] for e in container["env"]} == names


# --- autoscaling ------------------------------------------------------------------------


def test_autoscaling_follows_the_values(rendered: Render) -> None:
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in rendered.of_kind("HorizontalPodAutoscaler")}
    for service in SERVICES:
        settings = rendered.values["services"][service]
        deployment = rendered.get("Deployment", name_of(service))
        scaling: dict[str, Any] = settings.get("autoscaling", {})
        if scaling.get("enabled"):
            hpa = hpas.pop(name_of(service))
            assert hpa["apiVersion"] == "autoscaling/v2"
            assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
            assert hpa["spec"]["minReplicas"] == scaling["minReplicas"]
            assert hpa["spec"]["maxReplicas"] == scaling["maxReplicas"]
            # The HPA owns the count; the chart keeps the live count (lookup), else minReplicas:
            # leaving replicas out would make Kubernetes scale to 1 on the upgrade.
            assert deployment["spec"]["replicas"] == scaling["minReplicas"]
        else:
            assert deployment["spec"]["replicas"] == settings["replicas"]
    assert hpas == {}


def test_identity_never_autoscales(rendered: Render) -> None:
    assert "autoscaling" not in rendered.values["services"]["identity"]
    assert name_of("identity") not in {
        h["metadata"]["name"] for h in rendered.of_kind("HorizontalPodAutoscaler")
    }


def test_regions_enable_autoscaling_where_it_helps(render_region: Callable[[str], Render]) -> None:
    for region in ("rotterdam", "gelderland-midden"):
        scaled = {h["metadata"]["name"] for h in render_region(region).of_kind("HorizontalPodAutoscaler")}
        assert name_of("gateway") in scaled and name_of("signal") in scaled
        assert scaled <= {name_of(s) for s in SCALING_SERVICES}


# --- network policies -------------------------------------------------------------------


def test_every_pod_is_default_deny_both_ways(rendered: Render) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    (deny,) = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    for workload, pod in _workloads(rendered):
        labels = pod["metadata"]["labels"]
        selecting = [
            p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
        ]
        assert len(selecting) == 2, workload["metadata"]["name"]  # the namespace's and its own
        assert all(p["spec"]["policyTypes"] == ["Ingress", "Egress"] for p in selecting)


def test_no_rule_opens_everything(rendered: Render) -> None:
    """A rule without peers, or without ports, admits every source or destination."""
    for policy in rendered.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from") and rule.get("ports"), policy["metadata"]["name"]
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to") and rule.get("ports"), policy["metadata"]["name"]


def test_grpc_traffic_is_exactly_the_architecture(rendered: Render) -> None:
    allowed_out: dict[str, set[str]] = {}
    allowed_in: dict[str, set[str]] = {}
    for service in EXPECTED_CALLS:
        spec = _network_policy(rendered, service)["spec"]
        allowed_out[service] = set()
        for rule in spec["egress"]:
            if all(_is_in_release(peer) for peer in rule["to"]):
                assert _ports(rule) == {("TCP", GRPC_PORT)}
                allowed_out[service] |= _components(rule["to"])
        allowed_in[service] = set()
        for rule in spec.get("ingress", []):
            if all(_is_in_release(peer) for peer in rule["from"]):
                assert _ports(rule) == {("TCP", GRPC_PORT)}
                allowed_in[service] |= _components(rule["from"])
    assert allowed_out == EXPECTED_CALLS
    expected_in = {
        s: {caller for caller, callees in EXPECTED_CALLS.items() if s in callees} for s in EXPECTED_CALLS
    }
    assert allowed_in == expected_in


def test_identity_admits_only_gateway_signal_and_match(rendered: Render) -> None:
    rules = _network_policy(rendered, "identity")["spec"]["ingress"]
    peers = [peer for rule in rules for peer in rule["from"] if _ports(rule) == {("TCP", GRPC_PORT)}]
    assert all(_is_in_release(peer) for peer in peers)
    assert _components(peers) == {"gateway", "bulk-worker", "signal", "match"}


def test_only_the_gateway_admits_the_ingress_controller(rendered: Render) -> None:
    controller = rendered.values["networkPolicy"]["ingressController"]["from"]
    monitoring = rendered.values["networkPolicy"]["monitoring"]["from"]
    for policy in rendered.of_kind("NetworkPolicy"):
        if "cnpg.io/cluster" in policy["spec"]["podSelector"].get("matchLabels", {}):
            continue  # database pods: see test_chart_operators.py
        outside = [
            rule
            for rule in policy["spec"].get("ingress", [])
            if not all(_is_in_release(peer) for peer in rule["from"])
            # Prometheus on the admin port only
            and rule != {"from": monitoring, "ports": [{"protocol": "TCP", "port": ADMIN_PORT}]}
        ]
        if policy["metadata"]["name"] == name_of("gateway"):
            assert outside == [{"from": controller, "ports": [{"protocol": "TCP", "port": HTTP_PORT}]}]
        else:
            assert outside == [], policy["metadata"]["name"]


def test_every_pod_may_resolve_names(rendered: Render) -> None:
    dns = rendered.values["networkPolicy"]["egress"]["dns"]["to"]
    for policy in rendered.of_kind("NetworkPolicy"):
        if policy["spec"]["podSelector"] == {}:
            continue  # the namespace default deny
        rules = [r for r in policy["spec"]["egress"] if r["to"] == dns]
        assert len(rules) == 1 and _ports(rules[0]) == {("UDP", 53), ("TCP", 53)}


def _egress_to(policy: Manifest, peers: list[Manifest]) -> set[tuple[str, int]]:
    ports: set[tuple[str, int]] = set()
    for rule in policy["spec"]["egress"]:
        if rule["to"] == peers:
            ports |= _ports(rule)
    return ports


def test_outside_dependencies_only_where_needed(rendered: Render) -> None:
    egress = rendered.values["networkPolicy"]["egress"]
    smtp_port = rendered.values["services"]["notify"]["smtp"]["port"]
    for service in SERVICES:
        policy = _network_policy(rendered, service)
        assert bool(_egress_to(policy, egress["redis"]["to"])) == (service in ("gateway", "notify")), service
        assert (("TCP", smtp_port) in _egress_to(policy, egress["smtp"]["to"])) == (service == "notify")
        assert bool(_egress_to(policy, egress["webhooks"]["to"])) == (service == "notify"), service
        otel = {("TCP", egress["otel"]["port"])} if rendered.values["otel"]["endpoint"] else set()
        assert _egress_to(policy, egress["otel"]["to"]) == otel
    webhooks = egress["webhooks"]["to"]
    assert webhooks[0]["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "10.0.0.0/8" in webhooks[0]["ipBlock"]["except"]


def test_each_service_reaches_only_its_own_database(rendered: Render) -> None:
    cnpg = rendered.values["cnpg"]["enabled"]
    database = rendered.values["networkPolicy"]["egress"]["database"]
    for service in SERVICES:
        for name in (name_of(service), f"{name_of(service)}-migrate"):
            policy = rendered.get("NetworkPolicy", name)
            if cnpg:
                peers = [{"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{name_of(service)}-db"}}}]
                assert _egress_to(policy, peers) == {("TCP", 5432)}, name
            else:
                assert _egress_to(policy, database["to"]) == {("TCP", database["port"])}, name


def test_migration_pods_reach_only_dns_and_their_database(rendered: Render) -> None:
    for service in SERVICES:
        policy = rendered.get("NetworkPolicy", f"{name_of(service)}-migrate")
        assert policy["spec"]["ingress"] == []
        assert len(policy["spec"]["egress"]) == 2


# --- ingress ----------------------------------------------------------------------------


def test_the_gateway_is_published_over_tls(rendered: Render) -> None:
    (ingress,) = rendered.of_kind("Ingress")
    values = rendered.values["ingress"]
    assert ingress["spec"]["ingressClassName"] == values["className"]
    assert ingress["spec"]["tls"] == [{"hosts": [values["host"]], "secretName": values["tls"]["secretName"]}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == values["host"]
    backends = {p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert backends == {name_of("gateway")}
