"""OpenTelemetry: one tracer provider per process, traces propagated across every gRPC hop.

Spans carry method names, status codes and ids only: never a request body, so never a BSN.
Without OTEL_EXPORTER_OTLP_ENDPOINT spans are still created (trace ids end up in logs and
in the access log) but not exported.
"""

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def setup_telemetry(service: str, region: str, endpoint: str = "") -> None:
    """Install the tracer provider once per process."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"sluis-{service}", "sluis.region": region})
    )
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    trace.set_tracer_provider(provider)
    _configured = True


def server_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor()]


def aio_client_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import aio_client_interceptors as make

    return list(make())


def sync_client_interceptor() -> Any:
    from opentelemetry.instrumentation.grpc import client_interceptor

    return client_interceptor()


def current_trace_id() -> str:
    """The current trace id (hex), or '' outside a trace: goes into access-log rows."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
