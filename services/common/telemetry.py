"""OpenTelemetry: one tracer provider per process, traces propagated across every hop.

Spans carry method names, status codes, ids and SQL statement text only: never a request
body and never a statement's parameter values, so never a BSN.
Without OTEL_EXPORTER_OTLP_ENDPOINT spans are still created (trace ids end up in logs and
in the access log) but not exported.

Sampling policy (docs: README "Tracing"):
- a span with a parent follows its parent's decision, also across the outbox (the event
  carries its origin's `traceparent`, sampled flag included);
- a new root is sampled with probability SLUIS_TRACE_SAMPLE_RATIO (default 1: all);
- except background noise, which never starts a trace: health checks, the re-keyers'
  GetRotation polls, and database statements outside any span (outbox and queue polls).
The processing log does not depend on any of this: it is written for every event.
"""

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from services.common.config import from_env, setting

_configured = False
_PROPAGATOR = TraceContextTextMapPropagator()
_NINE_DIGITS = re.compile(r"\d{9}")

# Root spans with these names are background noise and never start a trace.
_UNTRACED_ROOTS = (
    "/grpc.health.v1.Health/",
    "/sluis.identity.v1.IdentityService/GetRotation",
)
_UNTRACED_PATHS = ("/healthz", "/readyz", "/livez")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TelemetrySettings:
    trace_sample_ratio: float = setting("SLUIS_TRACE_SAMPLE_RATIO", 1.0)


def is_noise(name: str, attributes: Attributes) -> bool:
    """A root span that would only be noise: a health check or a background poll."""
    if name.startswith(_UNTRACED_ROOTS):
        return True
    attrs = attributes or {}
    path = str(attrs.get("url.path") or attrs.get("http.target") or "")
    return path.split("?", 1)[0] in _UNTRACED_PATHS or name.endswith(_UNTRACED_PATHS)


class RootSampler(Sampler):
    """Decides for new roots only (ParentBased handles children): noise never, else a ratio."""

    def __init__(self, ratio: float) -> None:
        self.ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if is_noise(name, attributes):
            return SamplingResult(Decision.DROP)
        return self.ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"SluisRoot{{{self.ratio.get_description()}}}"


def sampler(ratio: float) -> Sampler:
    if not 0.0 <= ratio <= 1.0:
        raise ValueError("SLUIS_TRACE_SAMPLE_RATIO must be between 0 and 1")
    return ParentBased(root=RootSampler(ratio))


def setup_telemetry(service: str, region: str, endpoint: str = "") -> None:
    """Install the tracer provider once per process; with an exporter, database spans too."""
    global _configured
    if _configured:
        return
    ratio = from_env(TelemetrySettings).trace_sample_ratio
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"sluis-{service}", "sluis.region": region}),
        sampler=sampler(ratio),
    )
    trace.set_tracer_provider(provider)
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
        # Database spans only when someone reads them: without an exporter they would cost
        # CPU on every statement for nothing (trace ids in logs come from the request spans).
        instrument_psycopg(provider)
    _configured = True


# --- database spans --------------------------------------------------------------------------


class _ChildOnlyTracer(trace.Tracer):
    """A tracer whose spans exist only inside another span: a statement outside any request
    (a relay or queue poll, a scheduler) does not become a trace of its own."""

    def __init__(self, inner: trace.Tracer) -> None:
        self.inner = inner

    @staticmethod
    def _has_parent(context: otel_context.Context | None) -> bool:
        return trace.get_current_span(context).get_span_context().is_valid

    def start_span(
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> trace.Span:
        if not self._has_parent(context):
            return trace.INVALID_SPAN
        return self.inner.start_span(name, context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        if not self._has_parent(context):
            yield trace.INVALID_SPAN
            return
        with self.inner.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


class _ChildOnlyProvider(trace.TracerProvider):
    def __init__(self, inner: trace.TracerProvider) -> None:
        self.inner = inner

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _ChildOnlyTracer(self.inner.get_tracer(*args, **kwargs))


def instrument_psycopg(provider: trace.TracerProvider) -> None:
    """Spans for every psycopg statement: the statement text, never its parameter values
    (the instrumentation records parameters only when asked to; we never ask), no comment
    injected into the SQL."""
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    instrumentor = PsycopgInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(
            tracer_provider=_ChildOnlyProvider(provider),
            enable_commenter=False,
            capture_parameters=False,
            skip_dep_check=True,
        )


# --- gRPC ------------------------------------------------------------------------------------


def server_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

    # Health checks (kubelet probes, readiness polls) create no span at all.
    return [aio_server_interceptor(filter_=filters.negate(filters.health_check()))]


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


# --- trace context across the outbox ---------------------------------------------------------


def tracer() -> trace.Tracer:
    return trace.get_tracer("sluis")


def current_traceparent() -> tuple[str, str]:
    """(traceparent, tracestate) of the current span, ('', '') outside a trace: stored with
    an outbox row or a queued delivery so the work it causes continues this trace."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    state = carrier.get("tracestate", "")
    # tracestate is free text a REST client may send: never store one that could hold a BSN.
    if _NINE_DIGITS.search(state):
        state = ""
    return carrier.get("traceparent", ""), state


def origin_context(traceparent: str, tracestate: str = "") -> otel_context.Context | None:
    """The context a stored traceparent describes, or None when it is absent or malformed."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    ctx = _PROPAGATOR.extract(carrier, context=otel_context.Context())
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def _span_context(ctx: otel_context.Context | None) -> trace.SpanContext | None:
    if ctx is None:
        return None
    sc = trace.get_current_span(ctx).get_span_context()
    return sc if sc.is_valid else None


# Links per span are capped by the SDK (128 by default); a batch keeps its first origins.
MAX_LINKS = 128


def links_to(traceparents: Iterable[tuple[str, str]]) -> list[Link]:
    """One span link per distinct origin (stored traceparent, tracestate)."""
    seen: set[tuple[int, int]] = set()
    links: list[Link] = []
    for parent, state in traceparents:
        sc = _span_context(origin_context(parent, state))
        if sc is None or (sc.trace_id, sc.span_id) in seen:
            continue
        seen.add((sc.trace_id, sc.span_id))
        links.append(Link(sc))
        if len(links) == MAX_LINKS:
            break
    return links


@contextmanager
def continue_trace(name: str, origin: tuple[str, str], attributes: Attributes = None) -> Iterator[trace.Span]:
    """A span for work caused by an event that carries its origin's (traceparent, tracestate).

    Same trace as the current span: an ordinary child. Another trace (one delivery carrying
    events of several registrations): a child of the origin, so everything the event causes
    stays in the registration's trace, with a link to the delivery that carried it.
    No origin (events written before tracing travelled): a child of the current span.
    """
    current = trace.get_current_span().get_span_context()
    parent = origin_context(*origin)
    origin_sc = _span_context(parent)
    if parent is None or origin_sc is None or (current.is_valid and origin_sc.trace_id == current.trace_id):
        with tracer().start_as_current_span(name, attributes=attributes) as span:
            yield span
        return
    links = [Link(current)] if current.is_valid else []
    with tracer().start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ) as span:
        yield span


def start_span_from(name: str, origin: tuple[str, str], attributes: Attributes = None) -> trace.Span:
    """A span (not made current) in the trace a stored origin names, e.g. the sending of a
    queued mail: the caller ends it. Without an origin it starts a trace of its own."""
    parent = origin_context(*origin) or trace.set_span_in_context(trace.INVALID_SPAN)
    return tracer().start_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes)


def runs_by_origin(traceparents: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive events with the same origin trace.

    Events are processed run by run in their delivery order, so order is kept while each run
    continues its own trace.
    """
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(traceparents) + 1):
        if i == len(traceparents) or _trace_of(traceparents[i][0]) != _trace_of(traceparents[start][0]):
            runs.append((start, i))
            start = i
    return runs


def _trace_of(traceparent: str) -> str:
    """The trace id part of a traceparent ('' when absent)."""
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 else ""
