"""The gRPC bootstrap every back-end service uses: same start, same interceptors, same stop.

Start: telemetry and logs, then the server with the standard health service (SERVING only
once the service says it is ready) and reflection. Interceptors: tracing, then one that maps
DomainError to a status (anything unexpected becomes INTERNAL without details) and logs one
line per call. Stop on SIGTERM/SIGINT: health NOT_SERVING, `server.stop(grace)`, background
tasks cancelled, then the service's own closers (pools).

Readiness is not liveness: the health status "" (what clients' health checks and the
readiness probe read) is SERVING only while the service's own database answers and every
registered readiness check passes; "liveness" stays SERVING while the process runs. The
admin HTTP port (SLUIS_ADMIN_LISTEN) serves the same as /readyz and /livez, plus /metrics.
On SIGTERM readiness goes NOT_SERVING first, then after SLUIS_DRAIN_SECONDS (time for
clients to move away) the server stops with its grace period. Connections are closed after
SLUIS_GRPC_MAX_CONNECTION_AGE_SECONDS so clients re-resolve and find new replicas.
With SLUIS_TLS_* set the port speaks mutual TLS and refuses clients without a certificate
from the platform CA.
"""

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from services.common import metrics, processing_log, telemetry
from services.common.clients import tls_settings
from services.common.config import ServiceSettings, describe
from services.common.db import is_database_outage
from services.common.errors import DomainError, database_unavailable
from services.common.logs import setup_logging

log = logging.getLogger("sluis.grpc")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
LIVENESS = "liveness"

ReadinessCheck = Callable[[], Awaitable[bool]]


def server_options(settings: ServiceSettings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),
        # Close each connection after a while (GOAWAY, then the grace for calls in flight):
        # clients reconnect through DNS and spread over replicas added since.
        ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
        ("grpc.max_connection_age_grace_ms", int(settings.max_connection_age_grace_seconds * 1000)),
    ]


def server_credentials() -> grpc.ServerCredentials | None:
    """Mutual TLS from SLUIS_TLS_*: clients must present a certificate signed by the CA."""
    tls = tls_settings()
    if not tls.enabled:
        return None
    cert, key, ca = tls.read()
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps domain errors to statuses and logs one line per call (method, code, duration);
    counts it in the request rate, latency and error metrics."""

    def __init__(self, service: str = "") -> None:
        self.service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method
        service = self.service

        async def wrapper(request: Any, context: Any) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            reason = ""
            try:
                return await inner(request, context)
            except DomainError as exc:
                code, reason = exc.code, exc.reason
                context.set_trailing_metadata(exc.trailing_metadata())
                await context.abort(exc.code, exc.detail)
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as exc:
                if is_database_outage(exc):
                    # PostgreSQL away: fail fast with a status the caller may retry.
                    err = database_unavailable()
                    code, reason = err.code, err.reason
                    log.warning("database unavailable", extra={"method": method, "error": type(exc).__name__})
                    context.set_trailing_metadata(err.trailing_metadata())
                    await context.abort(err.code, err.detail)
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error", extra={"method": method})
                await context.abort(grpc.StatusCode.INTERNAL, "Interne fout in SluiS.")
            finally:
                elapsed = time.perf_counter() - started
                metrics.observe_rpc(service, method, code.name, elapsed)
                log.info(
                    "rpc",
                    extra={
                        "method": method,
                        "code": code.name,
                        "reason": reason,
                        "ms": round(elapsed * 1000, 2),
                    },
                )

        return grpc.unary_unary_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class HealthServicer(health_aio.HealthServicer):
    """The standard health service, with Watch as an async generator: clients' health checks
    (healthCheckConfig in services.common.clients) use Watch, and the tracing interceptor
    only passes streams of that shape."""

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Any) -> Any:
        condition = self._server_watchers[request.service]
        self._watcher_count_by_service[request.service] += 1
        last_status = None
        try:
            async with condition:
                while True:
                    status = self._server_status.get(
                        request.service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
                    )
                    if status != last_status:
                        yield health_pb2.HealthCheckResponse(status=status)
                    last_status = status
                    await condition.wait()
        finally:
            self._watcher_count_by_service[request.service] -= 1
            if self._watcher_count_by_service[request.service] == 0:
                del self._server_watchers[request.service]
                del self._watcher_count_by_service[request.service]


class GrpcService:
    """One back-end service process: a gRPC server plus its background tasks."""

    def __init__(self, name: str, settings: ServiceSettings) -> None:
        self.name = name
        self.settings = settings
        metrics.set_process_service(name)
        setup_logging(name, settings.log_level)
        telemetry.setup_telemetry(name, settings.region, settings.otel_endpoint)
        processing_log.configure(settings.processing_log_key)
        self.server = grpc.aio.server(
            interceptors=[*telemetry.server_interceptors(), ErrorInterceptor(name)],
            options=server_options(settings),
        )
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names: list[str] = [reflection.SERVICE_NAME, "grpc.health.v1.Health"]
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._readiness: list[ReadinessCheck] = []
        self._db: psycopg.AsyncConnection[Any] | None = None
        self._draining = False
        self.ready = False
        self.admin = metrics.AdminServer(settings.admin_listen) if settings.admin_listen else None
        self.port = 0

    def add_servicer(
        self, add_fn: Callable[[Any, grpc.aio.Server], None], servicer: Any, full_name: str
    ) -> None:
        add_fn(servicer, self.server)
        self._service_names.append(full_name)

    def add_background(self, factory: Callable[[], Awaitable[None]]) -> None:
        """A coroutine that runs for the life of the process (relays, schedulers)."""
        self._background.append(factory)

    def add_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    def add_readiness_check(self, check: ReadinessCheck) -> None:
        """A dependency that must answer for this replica to take traffic (beside its DB)."""
        self._readiness.append(check)

    async def start(self) -> int:
        reflection.enable_server_reflection(self._service_names, self.server)
        credentials = server_credentials()
        if credentials is None:
            self.port = self.server.add_insecure_port(self.settings.grpc_listen)
        else:
            self.port = self.server.add_secure_port(self.settings.grpc_listen, credentials)
        await self.server.start()
        if self.admin:
            self.admin.start()
        await self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self._check_readiness()
        self._tasks.append(asyncio.create_task(self._readiness_loop()))
        for factory in self._background:
            self._tasks.append(asyncio.create_task(self._supervise(factory)))
        log.info(
            "serving",
            extra={"port": self.port, "tls": credentials is not None, "settings": describe(self.settings)},
        )
        return self.port

    async def _database_ready(self) -> bool:
        """One dedicated connection (not from the pool: a full pool is not "down")."""
        if not self.settings.database_url:
            return True  # a process without a database of its own (test fakes)
        try:
            if self._db is None or self._db.closed:
                self._db = await psycopg.AsyncConnection.connect(
                    self.settings.database_url,
                    autocommit=True,
                    connect_timeout=max(1, int(self.settings.readiness_timeout_seconds)),
                    application_name=f"sluis-{self.name}-readiness",
                )
            await self._db.execute("SELECT 1")
            await metrics.database_gauges(self._db, self.name)
            return True
        except (psycopg.Error, OSError):
            if self._db is not None:
                await self._db.close()
                self._db = None
            return False

    async def _check_readiness(self) -> bool:
        checks = [self._database_ready, *self._readiness]
        try:
            async with asyncio.timeout(self.settings.readiness_timeout_seconds):
                results = [await check() for check in checks]
            ready = all(results) and not self._draining
        except (TimeoutError, grpc.RpcError, OSError):
            ready = False
        await self._set_ready(ready)
        return ready

    async def _set_ready(self, ready: bool) -> None:
        if ready != self.ready:
            log.info("readiness changed", extra={"ready": ready})
        self.ready = ready
        status = (
            health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for svc in [*self._service_names[2:], ""]:
            await self.health.set(svc, status)
        metrics.READY.labels(self.name).set(1 if ready else 0)
        if self.admin:
            (self.admin.ready.set if ready else self.admin.ready.clear)()

    async def _readiness_loop(self) -> None:
        while not self._draining:
            await asyncio.sleep(self.settings.readiness_interval_seconds)
            if not self._draining:
                await self._check_readiness()

    async def _supervise(self, factory: Callable[[], Awaitable[None]]) -> None:
        """Keep a background task alive: a crash is logged and the task restarted."""
        while True:
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task crashed; restarting")
                await asyncio.sleep(1.0)

    async def drain_started(self) -> None:
        """Readiness NOT_SERVING for good; the server keeps serving calls still sent."""
        self._draining = True
        await self._set_ready(False)

    async def drain(self) -> None:
        """Readiness NOT_SERVING first: clients' health checks move calls to other replicas."""
        await self.drain_started()
        if self.settings.drain_seconds > 0:
            await asyncio.sleep(self.settings.drain_seconds)

    async def stop(self) -> None:
        if not self._draining:
            await self.drain()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.shutdown_grace_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._db is not None:
            await self._db.close()
        if self.admin:
            self.admin.stop()
        for closer in reversed(self._closers):
            await closer()
        log.info("stopped")

    async def run(self) -> None:
        """Start, then serve until SIGTERM or SIGINT, then stop gracefully."""
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await self.stop()
