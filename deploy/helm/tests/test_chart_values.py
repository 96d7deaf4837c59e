"""Wrong values fail at install time with a message that names the value: the schema
(values.schema.json) for types and shapes, template guards for what a schema cannot say."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from sluis_chart import CHART_DIR, layered_values, merge_values, region_values, render, values_files


def _values_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "values-bad.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _schema_error(chart: helm.Chart, values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmValuesError) as caught:
        render(chart, values, "rotterdam")
    return str(caught.value)


def test_replicas_as_words_fail_the_schema(chart: helm.Chart, tmp_path: Path) -> None:
    bad = _values_file(
        tmp_path,
        """
        services:
          identity:
            replicas: "three"
        """,
    )
    values = layered_values(*values_files("rotterdam"), bad)
    message = _schema_error(chart, values)
    assert "at '/services/identity/replicas': got string, want integer" in message


def test_a_region_without_an_id_fails_the_schema(chart: helm.Chart, tmp_path: Path) -> None:
    bad = _values_file(
        tmp_path,
        """
        region:
          municipalities: [Utrecht]
        """,
    )
    values = layered_values(CHART_DIR / "values.yaml", bad)
    message = _schema_error(chart, values)
    assert "at '/region': missing property 'id'" in message


def test_schema_check_and_lint_agree(chart: helm.Chart, tmp_path: Path) -> None:
    bad = _values_file(tmp_path, "services: {match: {replicas: three}}\n")
    values = layered_values(*values_files("rotterdam"), bad)
    with pytest.raises(helm.HelmValuesError, match="/services/match/replicas"):
        chart.validate_schema(values)
    report = helm.lint(CHART_DIR, values)
    assert any("/services/match/replicas" in error for error in report["errors"])


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"image": {"tag": "latest"}}, "at '/image/tag'"),
        ({"image": {"tag": 1.0}}, "at '/image/tag': got number, want string"),
        ({"services": {"signal": {"replica": 3}}}, "additional properties 'replica' not allowed"),
        ({"services": {"search": {"replicas": 1}}}, "additional properties 'search' not allowed"),
        ({"services": {"identity": {"autoscaling": {"enabled": True}}}}, "'autoscaling' not allowed"),
        ({"services": {"gateway": {"replicas": 0}}}, "at '/services/gateway/replicas'"),
        ({"services": {"notify": {"resources": {"limits": {"memory": "lots"}}}}}, "/resources/limits/memory"),
        ({"containerSecurityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "/podSecurityContext/runAsNonRoot"),
        ({"region": {"id": "Rotterdam"}}, "at '/region/id'"),
        ({"region": {"municipalities": []}}, "at '/region/municipalities'"),
        ({"networkPolicy": {"egress": {"redis": {"port": 70000}}}}, "/networkPolicy/egress/redis/port"),
        ({"networkPolicy": {"egress": {"redis": {"to": [{"ipBlok": {}}]}}}}, "'ipBlok' not allowed"),
        ({"logLevel": "verbose"}, "at '/logLevel'"),
        (
            {"services": {"identity": {"peerKeys": {"gelderland-midden": "short"}}}},
            "/peerKeys/gelderland-midden",
        ),
        (
            {"services": {"match": {"env": {"SLUIS_DATABASE_URL": "x"}}}},
            "invalid propertyName 'SLUIS_DATABASE_URL'",
        ),
        ({"services": {"match": {"env": {"PATH": "/bin"}}}}, "invalid propertyName 'PATH'"),
    ],
)
def test_wrong_values_fail_the_schema(chart: helm.Chart, override: dict[str, Any], expected: str) -> None:
    values = merge_values(region_values("rotterdam"), override)
    assert expected in _schema_error(chart, values)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"services": {"signal": {"database": {"existingSecret": ""}}}},
            "services.signal.database.existingSecret is required when cnpg.enabled is false",
        ),
        (
            {"services": {"identity": {"kek": {"existingSecret": ""}}}},
            "services.identity.kek.existingSecret is required",
        ),
        ({"redis": {"existingSecret": ""}}, "redis.existingSecret is required"),
        ({"shutdownGraceSeconds": 30}, "must be shorter than terminationGracePeriodSeconds"),
        ({"networkPolicy": {"egress": {"smtp": {"to": []}}}}, "networkPolicy.egress.smtp.to is empty"),
        ({"networkPolicy": {"egress": {"database": {"to": []}}}}, "networkPolicy.egress.database.to"),
        (
            {"services": {"match": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}},
            "minReplicas (5) is larger than maxReplicas (2)",
        ),
        ({"region": {"peerRegions": ["rotterdam"]}}, "must not contain the region itself"),
        ({"services": {"notify": {"smtp": {"host": ""}}}}, "services.notify.smtp.host is required"),
        (
            {"services": {"identity": {"peerKeys": {"utrecht": "A" * 43 + "="}}}},
            "services.identity.peerKeys.utrecht: utrecht is not in region.peerRegions",
        ),
        (
            {"services": {"signal": {"env": {"SLUIS_REGION": "elders"}}}},
            "services.signal.env.SLUIS_REGION is set by the chart",
        ),
    ],
)
def test_template_guards_name_the_value(chart: helm.Chart, override: dict[str, Any], expected: str) -> None:
    values = merge_values(region_values("rotterdam"), override)
    with pytest.raises(helm.HelmRenderError) as caught:
        render(chart, values, "rotterdam")
    assert expected in str(caught.value)


def test_an_ingress_needs_a_host(chart: helm.Chart) -> None:
    values = region_values("rotterdam")
    values["ingress"] = {k: v for k, v in values["ingress"].items() if k != "host"}
    assert "at '/ingress': missing property 'host'" in _schema_error(chart, values)


def test_cloudnativepg_needs_no_database_secrets(chart: helm.Chart) -> None:
    values = merge_values(
        region_values("rotterdam"),
        {
            "cnpg": {"enabled": True},
            "networkPolicy": {
                "egress": {"kubeApi": {"port": 443, "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}]}}
            },
            "services": {s: {"database": {"existingSecret": ""}} for s in ("gateway", "identity", "match")},
        },
    )
    rendered = render(chart, values, "rotterdam")
    assert len(rendered.of_kind("Cluster")) == 5


def test_peer_public_keys_reach_identity(chart: helm.Chart) -> None:
    public = "B" * 43 + "="
    values = merge_values(
        region_values("rotterdam"), {"services": {"identity": {"peerKeys": {"gelderland-midden": public}}}}
    )
    config = render(chart, values, "rotterdam").get("ConfigMap", "sluis-identity")["data"]
    assert config["SLUIS_PEER_KEYS"] == f"gelderland-midden={public}"
    assert config["SLUIS_PEER_REGIONS"] == "gelderland-midden"


def test_network_policies_can_be_switched_off(chart: helm.Chart) -> None:
    values = merge_values(region_values("rotterdam"), {"networkPolicy": {"enabled": False}})
    assert render(chart, values, "rotterdam").of_kind("NetworkPolicy") == []


def test_the_defaults_alone_do_not_install(chart: helm.Chart) -> None:
    """values.yaml describes no region: installing without a region file must fail."""
    message = _schema_error(chart, layered_values(CHART_DIR / "values.yaml"))
    assert "missing property 'id'" in message
