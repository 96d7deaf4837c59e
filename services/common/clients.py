"""Channels to other services: traced, with keepalive, and a deadline on every call."""

import grpc

from services.common import telemetry

_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]


def aio_channel(address: str) -> grpc.aio.Channel:
    """A channel for asyncio services. Pass `timeout=` on every call made through it."""
    return grpc.aio.insecure_channel(
        address, options=_OPTIONS, interceptors=telemetry.aio_client_interceptors()
    )


def sync_channel(address: str) -> grpc.Channel:
    """A channel for the (threaded) gateway. Pass `timeout=` on every call made through it."""
    from opentelemetry.instrumentation.grpc import grpcext

    # OpenTelemetry's sync interceptor has its own interface; grpcext adapts it.
    channel = grpc.insecure_channel(address, options=_OPTIONS)
    return grpcext.intercept_channel(channel, telemetry.sync_client_interceptor())
