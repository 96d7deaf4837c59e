"""The Grafana dashboard in deploy/grafana reads only metrics the services export, and
per region (namespace)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import services.common.metrics  # noqa: F401  (registers the metrics)

DASHBOARD = Path(__file__).resolve().parents[2] / "grafana" / "sluis-dashboard.json"


def _exported() -> set[str]:
    names: set[str] = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("sluis_"):
            names.add(metric.name)
            names |= {f"{metric.name}_{suffix}" for suffix in ("total", "bucket", "sum", "count")}
    return names


def test_the_dashboard_uses_only_exported_metrics_per_namespace() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 12
    used = {m for e in exprs for m in re.findall(r"\bsluis_[a-z_]+", e)}
    assert used <= _exported(), used - _exported()
    for wanted in (
        "sluis_rpc_requests_total",
        "sluis_outbox_depth",
        "sluis_dead_letters",
        "sluis_rekey_remaining",
        "sluis_purge_runs_total",
        "sluis_http_requests_total",
    ):
        assert wanted in used
    assert all('namespace="$namespace"' in e for e in exprs)
