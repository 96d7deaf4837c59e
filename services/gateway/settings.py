"""The gateway's settings: environment only, through the platform's one config loader."""

import dataclasses

from services.common.config import DEVELOPMENT, ConfigError, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    """Everything the REST gateway reads from the environment.

    Not a ServiceSettings: the gateway speaks HTTP, not gRPC, and calls all four back ends.
    """

    region: str = setting("SLUIS_REGION")
    database_url: str = setting("SLUIS_DATABASE_URL", secret=True)
    http_listen: str = setting("SLUIS_HTTP_LISTEN", "0.0.0.0:8080")
    http_workers: int = setting("SLUIS_HTTP_WORKERS", 2)
    http_threads: int = setting("SLUIS_HTTP_THREADS", 8)
    redis_url: str = setting("SLUIS_REDIS_URL", "", secret=True)
    # Empty: a random key per start (sessions do not survive a restart; fine locally).
    secret_key: str = setting("SLUIS_SECRET_KEY", "", secret=True)
    # The processing log's key, the same in every service (services/common/processing_log.py).
    processing_log_key: str = setting("SLUIS_PROCESSING_LOG_KEY", "", secret=True)
    # production | development: production refuses to serve without the log key
    # (services/common/config.py, require_in_production).
    environment: str = setting("SLUIS_ENVIRONMENT", DEVELOPMENT)
    identity_addr: str = setting("SLUIS_IDENTITY_ADDR", "")
    # The bulk worker links the gateway's log lines to new pseudonyms during a key rotation
    # (services/gateway/logrekey.py): how often it looks, and the stores' margin after the switch.
    rekey_poll_seconds: float = setting("SLUIS_REKEY_POLL_SECONDS", 5.0)
    rekey_margin_seconds: float = setting("SLUIS_REKEY_MARGIN_SECONDS", 2.0)
    signal_addr: str = setting("SLUIS_SIGNAL_ADDR", "")
    match_addr: str = setting("SLUIS_MATCH_ADDR", "")
    notify_addr: str = setting("SLUIS_NOTIFY_ADDR", "")
    rpc_timeout_seconds: float = setting("SLUIS_RPC_TIMEOUT_SECONDS", 5.0)
    log_level: str = setting("SLUIS_LOG_LEVEL", "INFO")
    otel_endpoint: str = setting("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    # JSON requests; bulk uploads have their own, larger limit.
    max_body_bytes: int = setting("SLUIS_MAX_BODY_BYTES", 1024 * 1024)
    max_bulk_bytes: int = setting("SLUIS_MAX_BULK_BYTES", 256 * 1024 * 1024)
    db_pool_max: int = setting("SLUIS_DB_POOL_MAX", 10)
    # Seconds a request waits for a database connection before 503 + Retry-After.
    db_pool_timeout_seconds: float = setting("SLUIS_DB_POOL_TIMEOUT_SECONDS", 3.0)
    # Requests per second (sustained) and burst per API credential.
    rate_limit_per_second: float = setting("SLUIS_RATE_LIMIT_PER_SECOND", 50.0)
    rate_limit_burst: int = setting("SLUIS_RATE_LIMIT_BURST", 200)
    # Rows per chunk (one PseudonymiseBatch, one RegisterSignals COPY); at most 10,000.
    # 2,500 keeps the bulk worker and signal under 150 MB with two chunks in flight and
    # settled a 50,000-row load twice as fast as 10,000 (issue 21, bench_gateway_bulk).
    bulk_chunk_rows: int = setting("SLUIS_BULK_CHUNK_ROWS", 2_500)
    # Chunks registered at the same time per job (commits stay in row order), at most 2:
    # one registering while the next is pseudonymised keeps identity and signal both busy;
    # more only queues in signal and costs memory (issue 21, measured).
    bulk_inflight: int = setting("SLUIS_BULK_INFLIGHT", 2)
    # A running bulk load whose worker has not reported for this long is taken over.
    bulk_stale_seconds: float = setting("SLUIS_BULK_STALE_SECONDS", 60.0)
    # Reverse proxies in front of the gateway whose X-Forwarded-For/-Proto are trusted (0: none).
    # Behind one TLS-terminating ingress: 1. Decides the client address (login throttling) and
    # whether the request came over https (the session cookie is then Secure).
    trusted_proxies: int = setting("SLUIS_TRUSTED_PROXIES", 0)
    shutdown_grace_seconds: float = setting("SLUIS_SHUTDOWN_GRACE_SECONDS", 10.0)
    # The portal's public base URL: invitation, reset and confirmation links in mails start here.
    portal_url: str = setting("SLUIS_PORTAL_URL", "http://127.0.0.1:8080")
    # How long an invitation or reset link works (hours); an e-mail confirmation link as well.
    invitation_hours: float = setting("SLUIS_INVITATION_HOURS", 72.0)

    def check_backends(self) -> None:
        """Serving needs every back-end address; migrate and seed-demo do not."""
        missing = [
            env
            for env, value in (
                ("SLUIS_IDENTITY_ADDR", self.identity_addr),
                ("SLUIS_SIGNAL_ADDR", self.signal_addr),
                ("SLUIS_MATCH_ADDR", self.match_addr),
                ("SLUIS_NOTIFY_ADDR", self.notify_addr),
            )
            if not value
        ]
        if missing:
            raise ConfigError("GatewaySettings: " + "; ".join(f"{m} is required" for m in missing))
