"""The one configuration loader: settings come from the environment only.

Each service declares a frozen dataclass whose fields carry the environment variable name
(`setting("SLUIS_X", default)`); `from_env` reads, parses by type and reports every missing
variable at once, so a misconfigured pod fails at start with one clear message.
"""

import dataclasses
import os
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = dataclasses.MISSING


class ConfigError(Exception):
    """The environment does not describe a runnable service."""


def setting(env: str, default: Any = _MISSING, *, secret: bool = False) -> Any:
    """A settings field read from environment variable `env`."""
    metadata = {"env": env, "secret": secret}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple for sequence defaults")
    return dataclasses.field(default=default, metadata=metadata)


def _parse(raw: str, typ: Any, env: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in typing.get_args(typ) if a is not type(None)]
        return _parse(raw, inner[0], env)
    if typ is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{env}: expected true/false, got {raw!r}")
    if typ in (int, float):
        try:
            return typ(raw)
        except ValueError:
            raise ConfigError(f"{env}: expected a number, got {raw!r}") from None
    if origin is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def from_env(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build settings `cls` from the environment; ConfigError lists what is missing or wrong."""
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = f.metadata.get("env")
        if name is None:
            continue
        raw = env.get(name, "")
        if raw == "":
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{name} is required")
            continue
        try:
            values[f.name] = _parse(raw, hints[f.name], name)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(f"{cls.__name__}: " + "; ".join(problems))
    return cls(**values)


# SLUIS_ENVIRONMENT: "production" (the container image and the Helm chart) or "development"
# (make run, tests: the default when unset). Production refuses the development fallbacks.
PRODUCTION = "production"
DEVELOPMENT = "development"


def require_in_production(environment: str, settings: Mapping[str, str]) -> None:
    """Refuse to start in production with a setting left empty whose empty value means a
    public development fallback (e.g. SLUIS_PROCESSING_LOG_KEY); settings: env name -> value."""
    if environment not in (PRODUCTION, DEVELOPMENT):
        raise ConfigError(f"SLUIS_ENVIRONMENT: expected {PRODUCTION} or {DEVELOPMENT}, got {environment!r}")
    if environment != PRODUCTION:
        return
    missing = [name for name, value in settings.items() if not value]
    if missing:
        raise ConfigError(
            "; ".join(f"{name} is required in production" for name in missing)
            + f" (SLUIS_ENVIRONMENT={PRODUCTION}: the development fallback is a public key;"
            + f" a test installation sets SLUIS_ENVIRONMENT={DEVELOPMENT})"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """What every back-end service reads; services subclass it with their own fields."""

    region: str = setting("SLUIS_REGION")
    database_url: str = setting("SLUIS_DATABASE_URL", secret=True)
    grpc_listen: str = setting("SLUIS_GRPC_LISTEN", "[::]:50051")
    log_level: str = setting("SLUIS_LOG_LEVEL", "INFO")
    otel_endpoint: str = setting("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    shutdown_grace_seconds: float = setting("SLUIS_SHUTDOWN_GRACE_SECONDS", 10.0)
    db_pool_max: int = setting("SLUIS_DB_POOL_MAX", 10)
    # Seconds a request waits for a database connection before failing with UNAVAILABLE.
    db_pool_timeout_seconds: float = setting("SLUIS_DB_POOL_TIMEOUT_SECONDS", 3.0)
    rpc_timeout_seconds: float = setting("SLUIS_RPC_TIMEOUT_SECONDS", 5.0)
    # Plain HTTP for probes and Prometheus (/livez, /readyz, /metrics); empty: not served.
    admin_listen: str = setting("SLUIS_ADMIN_LISTEN", "")
    readiness_interval_seconds: float = setting("SLUIS_READINESS_INTERVAL_SECONDS", 5.0)
    readiness_timeout_seconds: float = setting("SLUIS_READINESS_TIMEOUT_SECONDS", 3.0)
    # After SIGTERM: NOT_SERVING for this long before the server stops taking calls.
    drain_seconds: float = setting("SLUIS_DRAIN_SECONDS", 0.0)
    max_connection_age_seconds: float = setting("SLUIS_GRPC_MAX_CONNECTION_AGE_SECONDS", 60.0)
    max_connection_age_grace_seconds: float = setting("SLUIS_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS", 10.0)
    # How often the purge job of docs/retention.md runs; 0 disables the schedule (tests).
    retention_interval_seconds: float = setting("SLUIS_RETENTION_INTERVAL_SECONDS", 3600.0)
    # The processing log's key (base64, 32 bytes; docs/adr/0004-processing-log.md): encrypts
    # the person in each line and keys the lookup tag. Empty: a development key (make run; refused in production).
    processing_log_key: str = setting("SLUIS_PROCESSING_LOG_KEY", "", secret=True)
    # production | development (require_in_production above)
    environment: str = setting("SLUIS_ENVIRONMENT", DEVELOPMENT)


def describe(settings: object) -> dict[str, Any]:
    """Settings as a dict for the start-up log line, secrets masked."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, f.name)
        out[f.name] = "***" if f.metadata.get("secret") and value else value
    return out
