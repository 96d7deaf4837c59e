"""Issue 23: one trace from request to mail, read back from an in-process OTLP receiver.

The platform exports its spans to a real OTLP/gRPC receiver (devstack/traces.py). After two
registrations that make a match, match's ApplySignalEvents and notify's sending of the mails
belong to the second registration's trace (or link to it); no span carries a BSN or a
statement's parameter values; health checks and background polls start no trace.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.mailview import trace_page, traces_page
from devstack.platform import Platform
from devstack.traces import TraceCollector
from tests.helpers import Api, by_org, valid_bsns, wait_until

BSN = valid_bsns(1, start=321_000_000)[0]


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceCollector]:
    started = TraceCollector(tmp_path_factory.mktemp("traces") / "traces.jsonl").start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def platform_env(collector: TraceCollector) -> dict[str, str]:
    """The module's platform (devstack/fixtures.py) exports its spans to the collector."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def traced(platform: Platform, collector: TraceCollector) -> tuple[Platform, TraceCollector]:
    return platform, collector


def _in_trace(span: dict[str, Any], trace_id: str) -> bool:
    """The span is in the trace, or links to it."""
    return span["trace_id"] == trace_id or any(link["trace_id"] == trace_id for link in span["links"])


def _statement(span: dict[str, Any]) -> str:
    attrs = span["attributes"]
    return str(attrs.get("db.statement") or attrs.get("db.query.text") or "")


def test_one_trace_from_registration_to_mail(traced: tuple[Platform, TraceCollector]) -> None:
    platform, collector = traced
    pros = list(platform.demo["professionals"])  # type: ignore[attr-defined]
    orgs = list(by_org(pros).values())
    anna, bert = orgs[0][0], orgs[1][0]

    # Health checks first: none of them may become a trace.
    for _ in range(3):
        assert requests.get(f"{platform.url}/healthz", timeout=5).status_code == 200
        requests.get(f"{platform.url}/readyz", timeout=5)
        for service in ("identity", "signal", "match", "notify"):
            with grpc.insecure_channel(platform.address(service)) as channel:
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)

    a = Api(platform.url, anna["apiKey"])
    first = a.signal(BSN)
    assert first.status_code == 201, first.text
    # Match has the first signal before the second is made: one delivery per registration.
    wait_until(lambda: a.get(f"/v1/signals/{first.json()['id']}/involvement").status_code == 200)
    second = Api(platform.url, bert["apiKey"]).signal(BSN)
    assert second.status_code == 201, second.text
    wait_until(lambda: platform.mailbox.to(anna["email"]) and platform.mailbox.to(bert["email"]))

    # The two POSTs are the only /v1/signals server spans; the second one made the match.
    def post_traces() -> list[str]:
        spans = [
            s
            for s in collector.spans()
            if s["service"] == "sluis-gateway" and s["kind"] == "server" and s["name"].startswith("POST")
        ]
        return [s["trace_id"] for s in sorted(spans, key=lambda s: s["start_ns"])]

    ids: list[str] = wait_until(lambda: len(post_traces()) == 2 and post_traces())
    registration = ids[1]

    def delivered() -> list[dict[str, Any]]:
        return [
            s
            for s in collector.spans()
            if s["service"] == "sluis-notify"
            and s["name"] == "notify deliver email"
            and _in_trace(s, registration)
        ]

    # Both mails of the new match are sent in the registration's trace.
    mails = wait_until(lambda: len(delivered()) >= 2 and delivered())
    assert {m["attributes"]["sluis.kind"] for m in mails} == {"match_created"}
    spans = collector.spans()
    applied = [
        s
        for s in spans
        if s["service"] == "sluis-match"
        and s["name"].endswith("ApplySignalEvents")
        and _in_trace(s, registration)
    ]
    assert applied, "match's ApplySignalEvents is not in the registration's trace"
    assert any(s["name"] == "match apply signal events" and s["trace_id"] == registration for s in spans)
    assert any(
        s["service"] == "sluis-notify"
        and s["name"].endswith("ApplyMatchEvents")
        and _in_trace(s, registration)
        for s in spans
    )

    # Database spans exist, with statement text but never parameter values.
    db = [s for s in spans if s["attributes"].get("db.system") or s["attributes"].get("db.system.name")]
    assert any(s["trace_id"] == registration for s in db)
    signal_ids = {first.json()["id"], second.json()["id"]}
    for s in db:
        assert not any(
            k.startswith(("db.statement.parameters", "db.query.parameter")) for k in s["attributes"]
        )
        assert _statement(s), s
        assert not any(sid in _statement(s) for sid in signal_ids)
        # Polls outside any request (relays, queues) are not traces of their own.
        assert s["parent_span_id"], s

    # No BSN anywhere in any span: names, attributes, statuses, links.
    raw = collector.path.read_text()
    assert BSN not in raw

    # No trace for a health check.
    assert not [s for s in spans if "grpc.health" in s["name"] or s["name"].endswith(("/healthz", "/readyz"))]
    assert not [
        s for s in spans if str(s["attributes"].get("url.path", "")).endswith(("/healthz", "/readyz"))
    ]

    # Log lines in a span carry its trace and span id.
    lines = [
        json.loads(line)
        for line in (Path(platform.logdir) / "match.log").read_text().splitlines()
        if line.startswith("{")
    ]
    correlated = [line for line in lines if line.get("trace_id") == registration]
    assert correlated and all(len(line["span_id"]) == 16 for line in correlated)

    # The local trace viewer (make run: mail viewer /traces) shows the whole flow of the match.
    page = trace_page(collector.spans(), registration)
    assert page is not None
    for name in ("POST", "RegisterSignal", "match apply signal events", "notify deliver email"):
        assert name in page
    assert registration in traces_page(collector.spans())
