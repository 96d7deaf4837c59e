"""Issue 13: a production release cannot run on the public development key of the
processing log. Every service tells production from development by SLUIS_ENVIRONMENT; in
production the render demands processingLog.existingSecret, and every service that keeps a
processing log (found in the code, so a new one is covered) gets the key from that Secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from sluis_chart import SERVICES, Render, merge_values, name_of, region_values, render

REPO = Path(__file__).resolve().parents[3]


def _services_keeping_a_log() -> set[str]:
    """The services whose migrations include the processing log's tables."""
    keeping = set()
    for service in SERVICES:
        server = (REPO / "services" / service / "server.py").read_text("utf-8")
        migrations = re.search(r"^MIGRATIONS = \[(.*)\]", server, re.MULTILINE)
        if migrations and "processing_log.MIGRATIONS" in migrations.group(1):
            keeping.add(service)
    return keeping


def _secret_env(rendered: Render, deployment: str) -> dict[str, Any]:
    (container,) = rendered.get("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}


def test_the_code_has_services_that_keep_a_log() -> None:
    assert {"signal", "match", "gateway"} <= _services_keeping_a_log()


def test_the_regions_run_in_production(rendered: Render) -> None:
    assert rendered.values["environment"] == "production"
    for service in SERVICES:
        assert rendered.get("ConfigMap", name_of(service))["data"]["SLUIS_ENVIRONMENT"] == "production"


def test_every_service_keeping_a_log_gets_its_key_from_the_secret(rendered: Render) -> None:
    """Found in the code: a service that starts keeping a log without the chart giving it the
    key would not start in production. (notify gets it ahead of its own log lines.)"""
    secret = rendered.values["processingLog"]
    expected = {"name": secret["existingSecret"], "key": secret["key"]}
    for service in _services_keeping_a_log() | {"notify"}:
        assert _secret_env(rendered, name_of(service)).get("SLUIS_PROCESSING_LOG_KEY") == expected, service
    assert _secret_env(rendered, name_of("bulk-worker"))["SLUIS_PROCESSING_LOG_KEY"] == expected
    # identity keeps no log and has the BSN: it gets no key it does not need
    assert "SLUIS_PROCESSING_LOG_KEY" not in _secret_env(rendered, name_of("identity"))


def test_production_without_the_key_does_not_render(chart: helm.Chart) -> None:
    values = merge_values(region_values("rotterdam"), {"processingLog": {"existingSecret": ""}})
    with pytest.raises(helm.HelmRenderError) as caught:
        render(chart, values, "rotterdam")
    assert "processingLog.existingSecret is required in production" in str(caught.value)
    assert "environment: development" in str(caught.value)  # the way out, for a test installation


def test_a_test_installation_may_say_development(chart: helm.Chart) -> None:
    override = {"environment": "development", "processingLog": {"existingSecret": ""}}
    rendered = render(chart, merge_values(region_values("rotterdam"), override), "rotterdam")
    for service in SERVICES:
        assert rendered.get("ConfigMap", name_of(service))["data"]["SLUIS_ENVIRONMENT"] == "development"
        assert "SLUIS_PROCESSING_LOG_KEY" not in _secret_env(rendered, name_of(service))


def test_only_production_or_development(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        render(chart, merge_values(region_values("rotterdam"), {"environment": "staging"}), "rotterdam")
    assert "environment" in str(caught.value)
