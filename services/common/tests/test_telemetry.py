"""Trace context through the outbox, sampling of noise, database spans without parameters."""

import asyncio
from types import SimpleNamespace
from typing import Any

import psycopg
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision

from services.common import outbox, telemetry
from services.common.db import open_pool


def _recorder() -> InMemorySpanExporter:
    """Spans of this process, whichever test installed the tracer provider first."""
    telemetry.setup_telemetry("test", "test")
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.instrument_psycopg(provider)  # as with an OTLP endpoint configured
    return exporter


def test_runs_by_origin_keeps_order() -> None:
    a = ("00-" + "a" * 32 + "-" + "1" * 16 + "-01", "")
    a2 = ("00-" + "a" * 32 + "-" + "2" * 16 + "-01", "")
    b = ("00-" + "b" * 32 + "-" + "1" * 16 + "-01", "")
    assert telemetry.runs_by_origin([a, a2, b, a, ("", "")]) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert telemetry.runs_by_origin([]) == []


def test_noise_never_starts_a_trace() -> None:
    sampler = telemetry.sampler(1.0)
    for name, attrs in [
        ("/grpc.health.v1.Health/Check", None),
        ("/sluis.identity.v1.IdentityService/GetRotation", None),
        ("GET /healthz", {"url.path": "/healthz"}),
        ("GET", {"http.target": "/readyz"}),
    ]:
        assert sampler.should_sample(None, 1, name, attributes=attrs).decision == Decision.DROP, name
    kept = sampler.should_sample(None, 1, "POST /v1/signals", attributes={"url.path": "/v1/signals"})
    assert kept.decision == Decision.RECORD_AND_SAMPLE


def test_outbox_events_continue_or_link_their_origin(new_database) -> None:
    exporter = _recorder()
    url = new_database("outbox_trace", [outbox.MIGRATIONS])
    tracer = trace.get_tracer("test")
    delivered: list[list[Any]] = []

    async def sender(payloads: list[bytes]) -> None:
        delivered.append(outbox.stamp([SimpleNamespace(payload=p) for p in payloads]))

    async def scenario() -> list[str]:
        pool = await open_pool(url, name="test")
        origins: list[str] = []
        try:
            relay = outbox.OutboxRelay(pool, {"match": sender})
            # One origin: the delivery is part of that trace.
            with tracer.start_as_current_span("register one") as span:
                origins.append(format(span.get_span_context().trace_id, "032x"))
                async with pool.connection() as conn, conn.transaction():
                    await outbox.enqueue(conn, ["match"], b"e0")
            await relay.drain("match")
            # Two origins in one batch: a new trace that links to both.
            for i in (1, 2):
                with tracer.start_as_current_span(f"register {i}") as span:
                    origins.append(format(span.get_span_context().trace_id, "032x"))
                    async with pool.connection() as conn, conn.transaction():
                        await outbox.enqueue_many(conn, ["match"], [f"payload-{i}".encode()])
            await relay.drain("match")
        finally:
            await pool.close()
        return origins

    origins = asyncio.run(scenario())
    spans = exporter.get_finished_spans()
    deliveries = [s for s in spans if s.name == "outbox deliver match"]
    assert len(deliveries) == 2
    assert format(deliveries[0].context.trace_id, "032x") == origins[0]
    assert format(deliveries[1].context.trace_id, "032x") not in origins
    assert {format(link.context.trace_id, "032x") for link in deliveries[1].links} == set(origins[1:])
    # Each delivered event carries its own origin for the receiver to continue.
    stamped = [e for batch in delivered for e in batch]
    assert [e.traceparent.split("-")[1] for e in stamped] == origins

    # The receiver's span for the second event is in that event's registration trace.
    origin = (stamped[2].traceparent, stamped[2].tracestate)
    with tracer.start_as_current_span("ApplySignalEvents"), telemetry.continue_trace("apply", origin) as span:
        assert format(span.get_span_context().trace_id, "032x") == origins[2]

    # Database spans: statement text, never the values; none for statements outside a span.
    db = [s for s in spans if (s.attributes or {}).get("db.system")]
    assert db and all(s.parent is not None for s in db)
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in db]
    assert any("INSERT INTO outbox" in st and "%s" in st for st in statements)
    assert not any("payload-" in st for st in statements)
    for s in db:
        assert not any(
            k.startswith(("db.statement.parameters", "db.query.parameter")) for k in s.attributes or {}
        )


def test_no_span_for_statements_outside_a_span(new_database) -> None:
    exporter = _recorder()
    url = new_database("untraced", [])

    async def scenario() -> None:
        pool = await open_pool(url, name="test")
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT %s::int", (1,))
        finally:
            await pool.close()

    asyncio.run(scenario())
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1")
    assert not [s for s in exporter.get_finished_spans() if (s.attributes or {}).get("db.system")]


def test_a_tracestate_that_could_hold_a_bsn_is_not_stored() -> None:
    _recorder()
    parent = "00-" + "c" * 32 + "-" + "1" * 16 + "-01"
    for state, kept in [("vendor=abc", "vendor=abc"), ("vendor=123456782", "")]:
        ctx = telemetry.origin_context(parent, state)
        with trace.get_tracer("test").start_as_current_span("request", context=ctx):
            stored_parent, stored_state = telemetry.current_traceparent()
        assert stored_parent.split("-")[1] == "c" * 32 and stored_state == kept
