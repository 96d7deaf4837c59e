"""Channels to other services: traced, with keepalive, spread over replicas, retried on
UNAVAILABLE, mutual TLS when configured, and a deadline on every call.

Addresses are gRPC targets. In Kubernetes the chart gives `dns:///<service>-headless:50051`:
the headless Service resolves to every ready pod and `round_robin` spreads calls over them
(a ClusterIP would pin each channel to one pod for good). Locally a plain `host:port` or a
multi-address `ipv4:127.0.0.1:p1,127.0.0.1:p2` works the same way.
"""

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path

import grpc

from services.common import telemetry
from services.common.config import ConfigError, from_env, setting

# round_robin over all resolved addresses; a replica that reports NOT_SERVING (draining,
# database down) is skipped via client-side health checking; UNAVAILABLE (a pod that went
# away between resolution and call) is retried on another replica.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
    "methodConfig": [
        {
            "name": [{}],
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}

_OPTIONS: list[tuple[str, str | int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    # Re-resolve DNS at most this often when a connection drops (new pods are found when the
    # server's max_connection_age closes a connection).
    ("grpc.dns_min_time_between_resolutions_ms", 5_000),
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TlsSettings:
    """Files of this process's certificate, key and the CA that signs its peers. All three
    empty: plaintext (local loopback only). The chart mounts them from a Secret."""

    cert_file: str = setting("SLUIS_TLS_CERT_FILE", "")
    key_file: str = setting("SLUIS_TLS_KEY_FILE", "")
    ca_file: str = setting("SLUIS_TLS_CA_FILE", "")

    @property
    def enabled(self) -> bool:
        return bool(self.cert_file or self.key_file or self.ca_file)

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(certificate chain, private key, CA bundle); ConfigError when incomplete or unreadable."""
        if not (self.cert_file and self.key_file and self.ca_file):
            raise ConfigError("SLUIS_TLS_CERT_FILE, SLUIS_TLS_KEY_FILE and SLUIS_TLS_CA_FILE go together")
        try:
            return tuple(Path(p).read_bytes() for p in (self.cert_file, self.key_file, self.ca_file))  # type: ignore[return-value]
        except OSError as exc:
            raise ConfigError(f"TLS file unreadable: {exc.filename}") from None


def tls_settings(environ: Mapping[str, str] | None = None) -> TlsSettings:
    return from_env(TlsSettings, environ)


def channel_credentials(tls: TlsSettings) -> grpc.ChannelCredentials:
    """Client side of mutual TLS: present our certificate, trust only the platform CA."""
    cert, key, ca = tls.read()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


def _options(tls: TlsSettings) -> list[tuple[str, str | int]]:
    options = list(_OPTIONS)
    # Locally the test certificates name "localhost"; a multi-address ipv4: target has no
    # host name to check against, so the expected server name can be given.
    override = os.environ.get("SLUIS_TLS_SERVER_NAME", "")
    if tls.enabled and override:
        options.append(("grpc.ssl_target_name_override", override))
    return options


def aio_channel(address: str) -> grpc.aio.Channel:
    """A channel for asyncio services. Pass `timeout=` on every call made through it."""
    tls = tls_settings()
    interceptors = telemetry.aio_client_interceptors()
    if tls.enabled:
        return grpc.aio.secure_channel(
            address, channel_credentials(tls), options=_options(tls), interceptors=interceptors
        )
    return grpc.aio.insecure_channel(address, options=_options(tls), interceptors=interceptors)


def sync_channel(address: str) -> grpc.Channel:
    """A channel for the (threaded) gateway. Pass `timeout=` on every call made through it."""
    from opentelemetry.instrumentation.grpc import grpcext

    tls = tls_settings()
    if tls.enabled:
        channel = grpc.secure_channel(address, channel_credentials(tls), options=_options(tls))
    else:
        channel = grpc.insecure_channel(address, options=_options(tls))
    # OpenTelemetry's sync interceptor has its own interface; grpcext adapts it.
    return grpcext.intercept_channel(channel, telemetry.sync_client_interceptor())
