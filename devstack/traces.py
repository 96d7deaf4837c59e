"""A local trace receiver (make run, tests): OTLP/gRPC in, one JSON line per span out.

The services export to it exactly as they would to a real OpenTelemetry collector
(OTEL_EXPORTER_OTLP_ENDPOINT); the mail viewer's /traces page reads the file back.
"""

import json
import threading
from collections import defaultdict
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def _value(v: common_pb2.AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, which) if which else None


def _attributes(items: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in items}


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        lines: list[str] = []
        for resource_spans in request.resource_spans:
            service = _attributes(resource_spans.resource.attributes).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    entry = {
                        "service": service,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": _KINDS.get(span.kind, str(span.kind)),
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status": {0: "unset", 1: "ok", 2: "error"}.get(span.status.code, ""),
                        "attributes": _attributes(span.attributes),
                        "links": [
                            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                            for link in span.links
                        ],
                    }
                    lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
        with self.lock, self.path.open("a", encoding="utf-8") as out:
            out.writelines(lines)
        return trace_service_pb2.ExportTraceServiceResponse()


class TraceCollector:
    """Receives spans on 127.0.0.1:`port` (0: any free port) and appends them to `path`."""

    def __init__(self, path: Path, port: int = 0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Receiver(path), self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")

    @property
    def endpoint(self) -> str:
        """For OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "TraceCollector":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=1).wait()

    def spans(self) -> list[dict[str, Any]]:
        return read_spans(self.path)


def read_spans(path: Path) -> list[dict[str, Any]]:
    """Every span received so far, in arrival order."""
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def traces(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Spans grouped by trace id, each trace's spans by start time; newest trace first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        grouped[span["trace_id"]].append(span)
    for trace_spans in grouped.values():
        trace_spans.sort(key=lambda s: s["start_ns"])
    return dict(sorted(grouped.items(), key=lambda kv: kv[1][0]["start_ns"], reverse=True))
