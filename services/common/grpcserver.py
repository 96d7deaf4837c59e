"""The gRPC bootstrap every back-end service uses: same start, same interceptors, same stop.

Start: telemetry and logs, then the server with the standard health service (SERVING only
once the service says it is ready) and reflection. Interceptors: tracing, then one that maps
DomainError to a status (anything unexpected becomes INTERNAL without details) and logs one
line per call. Stop on SIGTERM/SIGINT: health NOT_SERVING, `server.stop(grace)`, background
tasks cancelled, then the service's own closers (pools).
"""

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from services.common import telemetry
from services.common.config import ServiceSettings, describe
from services.common.db import is_database_outage
from services.common.errors import DomainError, database_unavailable
from services.common.logs import setup_logging

log = logging.getLogger("sluis.grpc")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps domain errors to statuses and logs one line per call (method, code, duration)."""

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
                log.info(
                    "rpc",
                    extra={
                        "method": method,
                        "code": code.name,
                        "reason": reason,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )

        return grpc.unary_unary_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class GrpcService:
    """One back-end service process: a gRPC server plus its background tasks."""

    def __init__(self, name: str, settings: ServiceSettings) -> None:
        self.name = name
        self.settings = settings
        setup_logging(name, settings.log_level)
        telemetry.setup_telemetry(name, settings.region, settings.otel_endpoint)
        self.server = grpc.aio.server(
            interceptors=[*telemetry.server_interceptors(), ErrorInterceptor()],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names: list[str] = [reflection.SERVICE_NAME, "grpc.health.v1.Health"]
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
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

    async def start(self) -> int:
        reflection.enable_server_reflection(self._service_names, self.server)
        self.port = self.server.add_insecure_port(self.settings.grpc_listen)
        await self.server.start()
        for factory in self._background:
            self._tasks.append(asyncio.create_task(self._supervise(factory)))
        for svc in [*self._service_names[2:], ""]:
            await self.health.set(svc, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"port": self.port, "settings": describe(self.settings)})
        return self.port

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

    async def stop(self) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.shutdown_grace_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
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
