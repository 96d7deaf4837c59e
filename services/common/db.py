"""The one way to open a service's own PostgreSQL database, and to migrate it."""

import logging
import time
import weakref
import zlib
from collections.abc import Sequence
from pathlib import Path

import psycopg
import psycopg.sql
from opentelemetry.instrumentation.utils import suppress_instrumentation
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

log = logging.getLogger(__name__)

# Session settings for every pooled connection: a stuck transaction is ended by the server
# instead of holding locks, and a runaway statement cannot block the service forever.
MIGRATION_LOCK_TIMEOUT = "10s"

# The gateway's sync pool uses them too (connection_kwargs), so the rails are set once.
SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=30000 -c statement_timeout=60000"


# A connection handed out again within this many seconds of its previous checkout is not
# checked (issue 21): the check is a round trip of its own on every request under load. A
# connection that sat idle longer (e.g. through a database restart) is still checked; one
# that broke within the window fails its statement as an outage (UNAVAILABLE, 503) and the
# pool discards it.
CHECK_AFTER_IDLE_SECONDS = 1.0
_last_checkout: "weakref.WeakKeyDictionary[object, float]" = weakref.WeakKeyDictionary()


def _recently_used(conn: object) -> bool:
    now = time.monotonic()
    previous = _last_checkout.get(conn)
    _last_checkout[conn] = now
    return previous is not None and now - previous < CHECK_AFTER_IDLE_SECONDS


async def _check_connection(conn: psycopg.AsyncConnection) -> None:
    """The pool's liveness check on checkout (unless used a moment ago), without a span."""
    if _recently_used(conn):
        return
    with suppress_instrumentation():
        await AsyncConnectionPool.check_connection(conn)


def check_sync_connection(conn: psycopg.Connection) -> None:
    """The same for a synchronous pool (the gateway's)."""
    if _recently_used(conn):
        return
    with suppress_instrumentation():
        ConnectionPool.check_connection(conn)


# How long a request waits for a pooled connection. Short on purpose: with PostgreSQL down a
# request fails fast (UNAVAILABLE, 503 + Retry-After at the gateway) instead of hanging, and
# the pool reconnects on its own once the server is back (no restart needed).
POOL_TIMEOUT_SECONDS = 3.0
# Client connect timeout (libpq connect_timeout, whole seconds): a dead host fails fast too.
_CONNECT_TIMEOUT_SECONDS = 3


def connection_kwargs(name: str) -> dict[str, object]:
    """The libpq settings of every pooled connection (back ends and gateway alike)."""
    return {
        "application_name": f"sluis-{name}",
        "options": SESSION_OPTIONS,
        "connect_timeout": _CONNECT_TIMEOUT_SECONDS,
    }


def is_database_outage(exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached right now (not a bad query).

    A pool timeout, a dropped connection (operational error) or a server shutting down: the
    caller should answer UNAVAILABLE and let the client retry.
    """
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, psycopg.errors.AdminShutdown | psycopg.errors.CannotConnectNow):
        return True
    # OperationalError without an SQLSTATE: the connection itself failed (server gone).
    return isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None


async def open_pool(
    url: str,
    *,
    name: str,
    max_size: int = 10,
    min_size: int = 1,
    timeout: float = POOL_TIMEOUT_SECONDS,
) -> AsyncConnectionPool:
    """Open (and wait for) a connection pool to the service's own database.

    `timeout`: seconds a request waits for a connection before PoolTimeout (see
    is_database_outage); SLUIS_DB_POOL_TIMEOUT_SECONDS in the services' settings.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        check=_check_connection,
        kwargs=connection_kwargs(name),
        name=name,
        timeout=timeout,
    )
    await pool.open(wait=True, timeout=30)
    return pool


def migration_files(directories: Sequence[Path]) -> list[tuple[str, Path]]:
    """(version, file) in apply order: directories in the given order, files sorted by name."""
    out: list[tuple[str, Path]] = []
    for directory in directories:
        for path in sorted(directory.glob("*.sql")):
            out.append((f"{directory.name}/{path.name}", path))
    return out


def migrate(
    url: str, directories: Sequence[Path], *, lock_timeout: str = MIGRATION_LOCK_TIMEOUT
) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; return those applied.

    Safe to run from several pods at once: an advisory lock serialises runners. Each
    statement then waits at most MIGRATION_LOCK_TIMEOUT for a table lock: a migration
    queued behind a long transaction would otherwise block every query on that table
    behind it; failing the Job (and retrying) is the lesser harm.
    """
    applied_now: list[str] = []
    lock_id = zlib.crc32(b"sluis-migrations")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        try:
            conn.execute(psycopg.sql.SQL("SET lock_timeout = {}").format(psycopg.sql.Literal(lock_timeout)))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, path in migration_files(directories):
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text().encode())
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
                log.info("migration applied", extra={"version": version})
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
    return applied_now
