"""Every setting a service reads can be given through the chart: region policy and links
(BRP, region mailbox, reminders) as named values, tuning knobs through services.<name>.env.
A new setting that is neither fails here, so the chart cannot fall behind the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from sluis_chart import Render, federation_values, merge_values, name_of, region_values, render

REPO = Path(__file__).resolve().parents[3]

# Tuning knobs with safe defaults: settable per service through services.<name>.env
# (README, "Configuration"), not worth a named value of their own.
TUNING_KNOBS = {
    "SLUIS_BULK_CHUNK_ROWS",
    "SLUIS_BULK_INFLIGHT",
    "SLUIS_BULK_STALE_SECONDS",
    "SLUIS_HTTP_THREADS",
    "SLUIS_HTTP_WORKERS",
    "SLUIS_IDENTITY_KEY_REFRESH_SECONDS",
    "SLUIS_IDENTITY_ROTATION_GRACE_SECONDS",
    "SLUIS_LIFECYCLE_BATCH_SIZE",
    "SLUIS_LIFECYCLE_INTERVAL_SECONDS",
    "SLUIS_LIFECYCLE_WORKERS",
    "SLUIS_MATCH_COORDINATION_SWEEP_SECONDS",
    "SLUIS_MATCH_FAMILY_REFRESH_SECONDS",
    "SLUIS_MATCH_NOTICE_DELAY_SECONDS",
    "SLUIS_MAX_BODY_BYTES",
    "SLUIS_MAX_BULK_BYTES",
    "SLUIS_NOTIFY_BATCH_SIZE",
    "SLUIS_NOTIFY_DIGEST_HOUR",
    "SLUIS_NOTIFY_DOMAIN_BURST",
    "SLUIS_NOTIFY_DOMAIN_RATE",
    "SLUIS_NOTIFY_MAX_ATTEMPTS",
    "SLUIS_NOTIFY_POLL_SECONDS",
    "SLUIS_NOTIFY_RETRY_BASE_SECONDS",
    "SLUIS_NOTIFY_RETRY_CAP_SECONDS",
    "SLUIS_NOTIFY_WEBHOOK_TIMEOUT_SECONDS",
    "SLUIS_NOTIFY_WORKERS",
    "SLUIS_RATE_LIMIT_BURST",
    "SLUIS_RATE_LIMIT_PER_SECOND",
    "SLUIS_READINESS_INTERVAL_SECONDS",
    "SLUIS_READINESS_TIMEOUT_SECONDS",
    "SLUIS_REKEY_BATCH_SIZE",
    "SLUIS_REKEY_MARGIN_SECONDS",
    "SLUIS_REKEY_POLL_SECONDS",
    "SLUIS_REKEY_REPORT_SECONDS",
    "SLUIS_REKEY_TTL_SECONDS",
    "SLUIS_RETENTION_INTERVAL_SECONDS",
    "SLUIS_SMTP_TIMEOUT_SECONDS",
}
# Read by the code but not a deployment's business: development and test switches.
# SLUIS_IDENTITY_KEK is the single development KEK; the chart mounts versioned KEK files.
NOT_FOR_THE_CHART = {"SLUIS_PEERS", "SLUIS_X", "SLUIS_FLAG", "SLUIS_IDENTITY_KEK"}
# Secrets: present in the pods through secretKeyRef (the ConfigMap must not hold them).
SECRETS = {
    "SLUIS_BRP_API_KEY",
    "SLUIS_DATABASE_URL",
    "SLUIS_REDIS_URL",
    "SLUIS_SECRET_KEY",
    "SLUIS_SMTP_PASSWORD",
    "SLUIS_NOTIFY_SECRET_KEY",
    "SLUIS_IDENTITY_EXCHANGE_KEY",
    "SLUIS_PROCESSING_LOG_KEY",
}

BRP = {
    "services": {
        "identity": {
            "brp": {
                "url": "https://brp.example.nl/haalcentraal/api/brp",
                "apiKey": {"existingSecret": "brp-api-key", "key": "api-key"},
                "clientCertificate": {"existingSecret": "brp-client-pkio", "hasCa": True},
            }
        }
    },
    "networkPolicy": {"egress": {"brp": {"to": [{"ipBlock": {"cidr": "203.0.113.10/32"}}]}}},
}


def _settings_in_code() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "services").rglob("*.py"):
        if "tests" in path.parts:
            continue
        names.update(re.findall(r'setting\(\s*"(SLUIS_[A-Z0-9_]+)"', path.read_text("utf-8")))
    return names


def _env_of(rendered: Render, service: str) -> dict[str, Any]:
    data: dict[str, Any] = rendered.get("ConfigMap", name_of(service))["data"]
    return data


def _secret_envs(rendered: Render) -> set[str]:
    names: set[str] = set()
    for _, pod in rendered.pod_templates():
        for container in pod["spec"]["containers"]:
            names.update(e["name"] for e in container.get("env", []) if "valueFrom" in e)
    return names


def test_every_setting_in_the_code_has_a_way_in_through_the_chart(chart: helm.Chart) -> None:
    # Everything switched on, so settings that exist only with a feature are rendered too:
    # the BRP link, and federation with the peer region (identity's peer keys and match's
    # SLUIS_FEDERATION_*, test overlay values-federation-rotterdam.yaml).
    values = merge_values(federation_values("rotterdam"), BRP)
    rendered = render(chart, values, "rotterdam")
    from_configmaps: set[str] = set()
    for service in ("gateway", "identity", "signal", "match", "notify"):
        from_configmaps.update(_env_of(rendered, service))
    covered = from_configmaps | TUNING_KNOBS | NOT_FOR_THE_CHART | SECRETS
    missing = sorted(_settings_in_code() - covered)
    assert not missing, f"settings the chart cannot set: {missing} (add a value or a knob)"


def test_region_policy_reaches_the_services_that_read_it(rendered: Render) -> None:
    municipalities = ",".join(rendered.values["region"]["municipalities"])
    for service in ("identity", "signal"):
        assert _env_of(rendered, service)["SLUIS_REGION_MUNICIPALITIES"] == municipalities
    signal = _env_of(rendered, "signal")
    assert signal["SLUIS_INFORMING_REMINDER_DAYS"] == "14"
    assert signal["SLUIS_BRP_RECHECK_INTERVAL_SECONDS"] == "86400"
    notify = _env_of(rendered, "notify")
    assert "SLUIS_NOTIFY_REGION_ADMIN_EMAIL" in notify
    assert notify["SLUIS_WEBHOOK_ALLOW_NETWORKS"] == ""
    for service in ("gateway", "identity", "signal", "match", "notify"):
        assert _env_of(rendered, service)["SLUIS_DB_POOL_TIMEOUT_SECONDS"] == "3"


def test_without_a_brp_url_identity_runs_unverified(rendered: Render) -> None:
    identity = _env_of(rendered, "identity")
    assert not [key for key in identity if key.startswith("SLUIS_BRP_")]
    policy = rendered.get("NetworkPolicy", name_of("identity"))
    assert "443" not in str([rule.get("ports") for rule in policy["spec"]["egress"]])


def test_the_brp_link_gets_its_url_key_certificate_and_one_egress_rule(chart: helm.Chart) -> None:
    rendered = render(chart, merge_values(region_values("rotterdam"), BRP), "rotterdam")
    identity = _env_of(rendered, "identity")
    assert identity["SLUIS_BRP_URL"] == BRP["services"]["identity"]["brp"]["url"]
    assert identity["SLUIS_BRP_CLIENT_CERT_FILE"] == "/etc/sluis/brp/tls.crt"
    assert identity["SLUIS_BRP_CLIENT_KEY_FILE"] == "/etc/sluis/brp/tls.key"
    assert identity["SLUIS_BRP_CA_FILE"] == "/etc/sluis/brp/ca.crt"
    assert "SLUIS_BRP_API_KEY" not in identity, "the API key is a secret, never in a ConfigMap"
    assert "SLUIS_BRP_API_KEY" in _secret_envs(rendered)

    deployment = rendered.get("Deployment", name_of("identity"))
    pod = deployment["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "brp-client")
    assert volume["secret"]["secretName"] == "brp-client-pkio"
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "brp-client", "mountPath": "/etc/sluis/brp", "readOnly": True} in mounts

    policy = rendered.get("NetworkPolicy", name_of("identity"))
    brp_rules = [r for r in policy["spec"]["egress"] if r.get("ports") == [{"protocol": "TCP", "port": 443}]]
    assert brp_rules == [
        {"to": [{"ipBlock": {"cidr": "203.0.113.10/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    ]
    # Only identity talks to the BRP: the BSN stays in identity.
    for service in ("gateway", "signal", "match"):
        assert "203.0.113.10" not in str(rendered.get("NetworkPolicy", name_of(service)))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"services": {"identity": {"brp": {"url": "http://brp.example.nl"}}}},
            "/services/identity/brp/url",
        ),
        (
            {"services": {"identity": {"brp": {"url": "https://brp.example.nl"}}}},
            "networkPolicy.egress.brp.to",
        ),
        (
            {
                "services": {
                    "identity": {"brp": {"clientCertificate": {"existingSecret": "c", "hasCa": False}}}
                }
            },
            "services.identity.brp.url is empty",
        ),
    ],
)
def test_a_half_configured_brp_link_fails_with_the_value_to_set(
    chart: helm.Chart, override: dict[str, Any], message: str
) -> None:
    with pytest.raises((helm.HelmValuesError, helm.HelmRenderError)) as caught:
        render(chart, merge_values(region_values("rotterdam"), override), "rotterdam")
    assert message in str(caught.value)
