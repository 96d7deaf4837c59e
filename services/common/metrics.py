"""Metrics in Prometheus format, the same names in every service.

Labels name services, RPC methods, endpoints, status codes and queues only: never a BSN,
pseudonym, person, professional or organisation (docs/operations.md, "Metrics").
The back ends serve them on their admin port (`SLUIS_ADMIN_LISTEN`, see grpcserver), the
gateway on its own /metrics. A multi-process server (gunicorn) sets PROMETHEUS_MULTIPROC_DIR
and every worker's values are summed at scrape time.

Counters others increment: `record_purge_run`, `record_smtp_failure`, `set_rekey_remaining`.
Outbox depth and age, dead letters and queue age are read from each service's own database
by `database_gauges` (grpcserver runs it on the readiness loop).
"""

import os
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RPC_REQUESTS = Counter(
    "sluis_rpc_requests_total", "gRPC calls served, by method and status code", ["service", "method", "code"]
)
RPC_LATENCY = Histogram(
    "sluis_rpc_duration_seconds",
    "Time to serve one gRPC call",
    ["service", "method"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "sluis_http_requests_total",
    "HTTP requests served, by endpoint (Flask endpoint name, never the path) and status",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "sluis_http_request_duration_seconds",
    "Time to serve one HTTP request",
    ["endpoint", "method"],
    buckets=_LATENCY_BUCKETS,
)
OUTBOX_DEPTH = Gauge(
    "sluis_outbox_depth",
    "Outbox events not yet delivered",
    ["service", "destination"],
    multiprocess_mode="max",
)
OUTBOX_AGE = Gauge(
    "sluis_outbox_oldest_age_seconds",
    "Age of the oldest undelivered outbox event",
    ["service", "destination"],
    multiprocess_mode="max",
)
DEAD_LETTERS = Gauge(
    "sluis_dead_letters",
    "Deliveries given up on (state dead)",
    ["service", "channel"],
    multiprocess_mode="max",
)
QUEUE_AGE = Gauge(
    "sluis_queue_oldest_age_seconds",
    "Age of the oldest delivery still waiting to be sent",
    ["service", "channel"],
    multiprocess_mode="max",
)
REKEY_REMAINING = Gauge(
    "sluis_rekey_remaining",
    "Pseudonyms still to be re-keyed in the rotation in progress (0: none)",
    ["service"],
    multiprocess_mode="max",
)
PURGE_RUNS = Counter("sluis_purge_runs_total", "Purge runs, by outcome (ok, failed)", ["service", "outcome"])
PURGED_ROWS = Counter("sluis_purged_rows_total", "Rows removed by purge runs", ["service"])
SMTP_FAILURES = Counter("sluis_smtp_failures_total", "Failed SMTP sessions or messages", ["service"])
READY = Gauge("sluis_ready", "1 when the service reports ready", ["service"], multiprocess_mode="min")


# The service this process runs (GrpcService sets it), the default `service` label.
_process = {"service": "sluis"}


def set_process_service(name: str) -> None:
    _process["service"] = name


def record_purge_run(outcome: str = "ok", rows: int = 0, service: str = "") -> None:
    """Count one purge run (call it where the purge job finishes)."""
    service = service or _process["service"]
    PURGE_RUNS.labels(service, outcome).inc()
    if rows:
        PURGED_ROWS.labels(service).inc(rows)


def record_smtp_failure(service: str = "") -> None:
    SMTP_FAILURES.labels(service or _process["service"]).inc()


def set_rekey_remaining(remaining: int, service: str = "") -> None:
    REKEY_REMAINING.labels(service or _process["service"]).set(remaining)


def observe_rpc(service: str, method: str, code: str, seconds: float) -> None:
    RPC_REQUESTS.labels(service, method, code).inc()
    RPC_LATENCY.labels(service, method).observe(seconds)


def observe_http(endpoint: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    HTTP_LATENCY.labels(endpoint, method).observe(seconds)


# Per table a service may own: the query, and how its rows become gauge values. Queues are
# read from the database (not counted in memory) so every replica reports the same truth.
_OUTBOX_SQL = (
    "SELECT destination, count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
    " FROM outbox GROUP BY destination"
)
_DELIVERIES_SQL = (
    "SELECT channel, count(*) FILTER (WHERE state = 'dead'),"
    " COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER"
    " (WHERE state IN ('queued', 'retrying'))), 0)"
    " FROM deliveries GROUP BY channel"
)


async def database_gauges(conn: psycopg.AsyncConnection[Any], service: str) -> None:
    """Refresh outbox, dead-letter and queue gauges from the service's own database."""
    row = await (
        await conn.execute("SELECT to_regclass('outbox') IS NOT NULL, to_regclass('deliveries') IS NOT NULL")
    ).fetchone()
    has_outbox, has_deliveries = row if row else (False, False)
    if has_outbox:
        rows = await (await conn.execute(_OUTBOX_SQL)).fetchall()
        _set_per_label(OUTBOX_DEPTH, OUTBOX_AGE, service, rows)
    if has_deliveries and service == "notify":
        rows = await (await conn.execute(_DELIVERIES_SQL)).fetchall()
        _set_per_label(DEAD_LETTERS, QUEUE_AGE, service, rows)


def _set_per_label(count: Gauge, age: Gauge, service: str, rows: Iterable[tuple[Any, ...]]) -> None:
    seen = set()
    for label, number, seconds in rows:
        seen.add(label)
        count.labels(service, label).set(int(number))
        age.labels(service, label).set(float(seconds))
    # A queue that emptied drops out of the GROUP BY: report it as 0, not its last value.
    for metric in (count, age):
        for labels in list(metric._metrics):
            if labels[0] == service and labels[1] not in seen:
                metric.labels(*labels).set(0)


def exposition() -> tuple[bytes, str]:
    """The current metrics as (body, content type), summed over workers in multi-process mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class AdminServer:
    """A small plaintext HTTP server beside the gRPC port: /metrics, /livez and /readyz.

    Kubelet probes and Prometheus speak plain HTTP, so they keep working when the gRPC port
    requires client certificates. `ready` is flipped by the service's readiness loop.
    """

    def __init__(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self.ready = threading.Event()
        admin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body, content_type = exposition()
                    self._reply(200, body, content_type)
                elif self.path == "/livez":
                    self._reply(200, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    ok = admin.ready.is_set()
                    self._reply(200 if ok else 503, b"ok\n" if ok else b"not ready\n", "text/plain")
                else:
                    self._reply(404, b"not found\n", "text/plain")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # probes every few seconds would drown the service's own log lines

        self.httpd = ThreadingHTTPServer((host.strip("[]") or "0.0.0.0", int(port)), Handler)  # noqa: S104
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sluis-admin", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def instrument_flask(app: Any) -> None:
    """Request rate, latency and errors per Flask endpoint (the endpoint name, never the
    path: paths carry ids). The first before_request hook, so refused requests count too."""
    import time

    from flask import g, request

    def started() -> None:
        g.sluis_metrics_started = time.perf_counter()

    def observed(response: Any) -> Any:
        begun = g.get("sluis_metrics_started", time.perf_counter())
        observe_http(
            request.endpoint or "unmatched", request.method, response.status_code, time.perf_counter() - begun
        )
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, started)
    app.after_request(observed)


def serve_admin_from_env() -> AdminServer | None:
    """The gateway's /metrics (SLUIS_ADMIN_LISTEN) in the gunicorn master: it sums what the
    workers write to PROMETHEUS_MULTIPROC_DIR. Readiness stays the gateway's own /readyz."""
    listen = os.environ.get("SLUIS_ADMIN_LISTEN", "")
    if not listen:
        return None
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in os.listdir(directory):  # values of a previous process life
            os.remove(os.path.join(directory, stale))
    server = AdminServer(listen)
    server.ready.set()
    server.start()
    return server
