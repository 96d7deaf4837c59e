"""What hosting operators and regional admins rely on, rendered per region: load that
spreads, clean termination, mutual TLS, metrics and alerts, CloudNativePG backups and
recovery, a namespace default deny, and pod settings they can extend without forking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import helm_python as helm
import pytest
from sluis_chart import (
    GRPC_SERVICES,
    SERVICES,
    Render,
    containers_of,
    merge_values,
    name_of,
    region_values,
    render,
)

GRPC_PORT = 50051


def _container(rendered: Render, workload: str) -> dict[str, Any]:
    (container,) = rendered.get("Deployment", name_of(workload))["spec"]["template"]["spec"]["containers"]
    return container


# --- load that spreads, clean termination ------------------------------------------------


def test_every_grpc_back_end_has_a_headless_service(rendered: Render) -> None:
    for service in GRPC_SERVICES:
        headless = rendered.get("Service", f"{name_of(service)}-headless")
        assert headless["spec"]["clusterIP"] == "None"
        assert headless["spec"]["publishNotReadyAddresses"] is False
        assert headless["spec"]["selector"] == rendered.get("Service", name_of(service))["spec"]["selector"]
        assert [p["port"] for p in headless["spec"]["ports"]] == [GRPC_PORT]
    assert not any(
        s["metadata"]["name"] == f"{name_of('gateway')}-headless" for s in rendered.of_kind("Service")
    )


def test_callers_dial_dns_targets_and_servers_age_connections(rendered: Render) -> None:
    for service in ("gateway", "signal", "match"):
        data = rendered.get("ConfigMap", name_of(service))["data"]
        targets = [v for k, v in data.items() if k.endswith("_ADDR")]
        assert targets and all(t.startswith("dns:///") and "-headless." in t for t in targets)
    for service in GRPC_SERVICES:
        data = rendered.get("ConfigMap", name_of(service))["data"]
        grpc = rendered.values["grpc"]
        assert float(data["SLUIS_GRPC_MAX_CONNECTION_AGE_SECONDS"]) == grpc["maxConnectionAgeSeconds"]
        assert (
            float(data["SLUIS_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS"]) == grpc["maxConnectionAgeGraceSeconds"]
        )
        assert float(data["SLUIS_DRAIN_SECONDS"]) == rendered.values["drainSeconds"] > 0


def test_serving_pods_have_a_pre_stop_delay(rendered: Render) -> None:
    for service in SERVICES:
        hook = _container(rendered, service)["lifecycle"]["preStop"]
        assert hook == {"sleep": {"seconds": rendered.values["preStopSeconds"]}}
        assert rendered.values["preStopSeconds"] > 0


def test_readiness_is_not_liveness(rendered: Render) -> None:
    for service in GRPC_SERVICES:
        container = _container(rendered, service)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert {"name": "admin", "containerPort": 9090, "protocol": "TCP"} in container["ports"]


def test_the_bulk_worker_is_its_own_deployment(rendered: Render) -> None:
    worker = rendered.get("Deployment", name_of("bulk-worker"))
    container = _container(rendered, "bulk-worker")
    assert container["command"] == ["python", "-m", "services.gateway", "bulk-worker"]
    assert container["envFrom"] == [{"configMapRef": {"name": name_of("gateway")}}]
    assert container["env"] == _container(rendered, "gateway")["env"]
    assert worker["spec"]["replicas"] == rendered.values["bulkWorker"]["replicas"]
    assert container["resources"] == rendered.values["bulkWorker"]["resources"]


# --- mutual TLS ---------------------------------------------------------------------------


def test_every_service_mounts_its_certificate_and_requires_peers_to(rendered: Render) -> None:
    assert rendered.values["mtls"]["enabled"] is True
    certificates = {c["spec"]["secretName"]: c for c in rendered.of_kind("Certificate")}
    namespace = f"sluis-{rendered.region}"
    for service in SERVICES:
        data = rendered.get("ConfigMap", name_of(service))["data"]
        assert data["SLUIS_TLS_CERT_FILE"] == "/etc/sluis/tls/tls.crt"
        assert data["SLUIS_TLS_KEY_FILE"] == "/etc/sluis/tls/tls.key"
        assert data["SLUIS_TLS_CA_FILE"] == "/etc/sluis/tls/ca.crt"
        pod = rendered.get("Deployment", name_of(service))["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "tls"]
        secret = volume["secret"]["secretName"]
        assert secret == f"{name_of(service)}-tls"
        assert {"name": "tls", "mountPath": "/etc/sluis/tls", "readOnly": True} in containers_of(
            rendered.get("Deployment", name_of(service))["spec"]["template"]
        )[0]["volumeMounts"]
        certificate = certificates[secret]["spec"]
        assert certificate["usages"] == ["server auth", "client auth"]
        assert certificate["issuerRef"]["name"] == f"sluis-{rendered.region}-ca"
        if service != "gateway":
            # the name callers dial must be in the certificate
            assert f"{name_of(service)}-headless.{namespace}.svc.cluster.local" in certificate["dnsNames"]


def test_mtls_from_existing_secrets_makes_no_certificates(chart: helm.Chart) -> None:
    values = merge_values(
        region_values("rotterdam"),
        {"mtls": {"certManager": {"enabled": False}, "secretNames": {"identity": "identity-mtls"}}},
    )
    rendered = render(chart, values, "rotterdam")
    assert rendered.of_kind("Certificate") == []
    pod = rendered.get("Deployment", name_of("identity"))["spec"]["template"]["spec"]
    assert {"name": "tls", "secret": {"secretName": "identity-mtls", "defaultMode": 0o400}} in pod["volumes"]


# --- identity's keys ----------------------------------------------------------------------


def test_identity_reads_its_kek_versions_from_files(rendered: Render) -> None:
    data = rendered.get("ConfigMap", name_of("identity"))["data"]
    assert data["SLUIS_IDENTITY_KEK_DIR"] == "/etc/sluis/kek"
    pod = rendered.get("Deployment", name_of("identity"))["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "kek"]
    assert volume["secret"]["secretName"] == rendered.values["services"]["identity"]["kek"]["existingSecret"]
    assert all(e["name"] != "SLUIS_IDENTITY_KEK" for e in _container(rendered, "identity")["env"])
    # no init Job unless asked for: a restored region must never get a fresh key
    assert all(not j["metadata"]["name"].endswith("-init") for j in rendered.of_kind("Job"))


def test_a_new_region_initialises_identity_after_the_migrations(chart: helm.Chart) -> None:
    values = merge_values(region_values("rotterdam"), {"services": {"identity": {"initialise": True}}})
    job = render(chart, values, "rotterdam").get("Job", f"{name_of('identity')}-init")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "services.identity", "init"]
    assert job["metadata"]["annotations"]["helm.sh/hook-weight"] == "1"  # after migrate ("0")


def test_identity_replicas_never_share_a_node_or_zone(rendered: Render) -> None:
    for service in SERVICES:
        constraints = rendered.get("Deployment", name_of(service))["spec"]["template"]["spec"][
            "topologySpreadConstraints"
        ]
        modes = {c["whenUnsatisfiable"] for c in constraints}
        assert modes == ({"DoNotSchedule"} if service == "identity" else {"ScheduleAnyway"}), service


# --- metrics and alerts -------------------------------------------------------------------


def test_monitors_and_rules_when_enabled(rendered: Render) -> None:
    (monitor,) = rendered.of_kind("PodMonitor")
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "admin", "path": "/metrics", "interval": "30s"}
    ]
    assert set(monitor["spec"]["selector"]["matchExpressions"][0]["values"]) == set(SERVICES)
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (rule,) = rendered.of_kind("PrometheusRule")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert {
        "SluisOutboxBacklog",
        "SluisDeadLetters",
        "SluisSmtpFailures",
        "SluisMigrationJobFailed",
        "SluisCertificateExpiry",
    } <= set(alerts)
    namespace = f'namespace="sluis-{rendered.region}"'
    assert all(namespace in a["expr"] for a in alerts.values())
    for service in SERVICES:
        assert rendered.get("ConfigMap", name_of(service))["data"]["SLUIS_ADMIN_LISTEN"] == "0.0.0.0:9090"
    assert rendered.get("ConfigMap", name_of("gateway"))["data"]["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/metrics"


def test_no_monitoring_objects_by_default(chart: helm.Chart) -> None:
    values = merge_values(
        region_values("rotterdam"),
        {"metrics": {"podMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}}},
    )
    rendered = render(chart, values, "rotterdam")
    assert rendered.of_kind("PodMonitor") == [] and rendered.of_kind("PrometheusRule") == []


def test_prometheus_may_scrape_only_the_admin_port(rendered: Render) -> None:
    monitoring = rendered.values["networkPolicy"]["monitoring"]["from"]
    for service in SERVICES:
        rules = rendered.get("NetworkPolicy", name_of(service))["spec"]["ingress"]
        assert {"from": monitoring, "ports": [{"protocol": "TCP", "port": 9090}]} in rules


# --- the namespace default deny, the database pods included -------------------------------


def test_default_deny_selects_every_pod_of_the_namespace(rendered: Render) -> None:
    deny = rendered.get("NetworkPolicy", "sluis-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_database_pods_have_their_own_narrow_policy(render_region: Callable[[str], Render]) -> None:
    rendered = render_region("gelderland-midden")
    for service in SERVICES:
        cluster = f"{name_of(service)}-db"
        policy = rendered.get("NetworkPolicy", cluster)["spec"]
        assert policy["podSelector"] == {"matchLabels": {"cnpg.io/cluster": cluster}}
        clients = policy["ingress"][0]["from"]
        components = {p["podSelector"]["matchLabels"].get("app.kubernetes.io/component") for p in clients}
        expected = {service, f"{service}-migrate", None}  # None: the cluster's own instances
        if service == "gateway":
            expected.add("bulk-worker")
        assert components == expected
        egress_ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
        assert egress_ports == {53, 5432, 8000, 6443, 443}  # DNS, replication, status, API, backups
    assert render_region("rotterdam").of_kind("Cluster") == []


# --- CloudNativePG: backups, recovery, synchronous replicas -------------------------------


def test_backups_are_configured_in_helm(render_region: Callable[[str], Render]) -> None:
    rendered = render_region("gelderland-midden")
    for service in SERVICES:
        cluster = rendered.get("Cluster", f"{name_of(service)}-db")["spec"]
        assert cluster["plugins"] == rendered.values["cnpg"]["plugins"]
        assert cluster["postgresql"]["synchronous"] == {
            "method": "any",
            "number": 1,
            "dataDurability": "required",
        }
        backup = rendered.get("ScheduledBackup", f"{name_of(service)}-db")["spec"]
        assert backup["cluster"] == {"name": f"{name_of(service)}-db"}
        assert backup["method"] == "plugin"
        assert backup["pluginConfiguration"] == {"name": "barman-cloud.cloudnative-pg.io"}
    assert render_region("rotterdam").of_kind("ScheduledBackup") == []


def test_a_region_can_be_recovered_from_its_backups(chart: helm.Chart) -> None:
    source = {"plugin": {"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "old"}}}
    values = merge_values(
        region_values("gelderland-midden"),
        {
            "cnpg": {
                "recovery": {
                    "enabled": True,
                    "source": source,
                    "recoveryTarget": {"targetLSN": "0/3000000"},
                }
            }
        },
    )
    rendered = render(chart, values, "gelderland-midden")
    for service in SERVICES:
        spec = rendered.get("Cluster", f"{name_of(service)}-db")["spec"]
        assert spec["bootstrap"] == {
            "recovery": {
                "source": "origin",
                "database": service,
                "owner": service,
                "recoveryTarget": {"targetLSN": "0/3000000"},
            }
        }
        (origin,) = spec["externalClusters"]
        assert origin["plugin"]["parameters"] == {
            "barmanObjectName": "old",
            "serverName": f"{name_of(service)}-db",
        }


def test_recovery_without_a_source_is_refused(chart: helm.Chart) -> None:
    values = merge_values(region_values("gelderland-midden"), {"cnpg": {"recovery": {"enabled": True}}})
    with pytest.raises(helm.HelmRenderError, match=r"cnpg\.recovery\.source"):
        render(chart, values, "gelderland-midden")


# --- values operators extend pods with ----------------------------------------------------


def test_pod_metadata_scheduling_and_identity_are_values(chart: helm.Chart) -> None:
    extra = {
        "podLabels": {"team": "platform", "app.kubernetes.io/name": "not-sluis"},
        "podAnnotations": {"example.com/scrape": "no"},
        "nodeSelector": {"pool": "sluis"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "sluis", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "priorityClassName": "sluis-critical",
        "serviceAccount": {"create": True, "name": "sluis-pods", "annotations": {"example.com/role": "x"}},
        "image": {"digests": {"identity": "sha256:" + "a" * 64}},
    }
    rendered = render(chart, merge_values(region_values("rotterdam"), extra), "rotterdam")
    (account,) = rendered.of_kind("ServiceAccount")
    assert account["metadata"]["name"] == "sluis-pods" and account["automountServiceAccountToken"] is False
    for workload, pod in rendered.pod_templates():
        spec = pod["spec"]
        assert pod["metadata"]["labels"]["team"] == "platform"
        assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "sluis"  # the selector still matches
        assert spec["nodeSelector"] == {"pool": "sluis"}
        assert spec["tolerations"] == extra["tolerations"]
        assert spec["priorityClassName"] == "sluis-critical"
        assert spec["serviceAccountName"] == "sluis-pods"
        if workload["kind"] == "Deployment":
            assert pod["metadata"]["annotations"]["example.com/scrape"] == "no"
    assert (
        _container(rendered, "identity")["image"] == "registry.example.nl/sluis/identity@sha256:" + "a" * 64
    )
    assert _container(rendered, "signal")["image"].endswith("/signal:0.1.0")


def test_uploads_fit_through_the_ingress_and_the_http_route(chart: helm.Chart, rendered: Render) -> None:
    (ingress,) = rendered.of_kind("Ingress")
    size = rendered.values["ingress"]["maxBodySize"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == size
    values = merge_values(
        region_values(rendered.region),
        {"httpRoute": {"enabled": True, "parentRefs": [{"name": "public", "namespace": "gateways"}]}},
    )
    (route,) = render(chart, values, rendered.region).of_kind("HTTPRoute")
    assert route["spec"]["hostnames"] == [rendered.values["ingress"]["host"]]
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateways"}]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": name_of("gateway"), "port": 8080}]


def test_rotterdam_is_sized_larger(render_region: Callable[[str], Render]) -> None:
    rotterdam, gelderland = render_region("rotterdam"), render_region("gelderland-midden")

    def memory(rendered: Render, service: str) -> int:
        value = _container(rendered, service)["resources"]["limits"]["memory"]
        return int(value.removesuffix("Mi")) if value.endswith("Mi") else int(value.removesuffix("Gi")) * 1024

    for service in ("gateway", "signal", "match", "bulk-worker"):
        assert memory(rotterdam, service) > memory(gelderland, service), service
