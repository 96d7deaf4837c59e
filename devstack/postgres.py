"""A real PostgreSQL server owned by the project (the pgserver package ships the binaries).

Runs without root and without system packages; as root (CI) pgserver runs the server as
its own unprivileged user. Used by `make run` and by the tests.
"""

import logging
from pathlib import Path

import pgserver
import psycopg
from pgserver import _commands  # pg_ctl is generated at import time
from pgserver.utils import PostmasterInfo

log = logging.getLogger(__name__)

# Enough for five services' pools plus parallel tests; durability settings relaxed only for
# throwaway test clusters.
_SETTINGS = {"max_connections": "400", "shared_buffers": "256MB"}
_TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedPostgres:
    """One PostgreSQL cluster in a data directory; each service gets its own database in it."""

    def __init__(self, datadir: Path, *, throwaway: bool = False) -> None:
        self.datadir = datadir.resolve()
        self.throwaway = throwaway
        self._server: pgserver.PostgresServer | None = None

    def start(self) -> "EmbeddedPostgres":
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(self.datadir, cleanup_mode="stop")
        wanted = dict(_SETTINGS, **(_TEST_SETTINGS if self.throwaway else {}))
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            current = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in wanted}  # type: ignore[index]
            stale = {k: v for k, v in wanted.items() if current[k].lower() != v.lower()}
            for key, value in stale.items():
                conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
        if stale:
            # Settings such as max_connections need a restart; pg_ctl keeps the options.
            _commands.pg_ctl(["-w", "restart"], pgdata=self.datadir, user=server.system_user)  # type: ignore[attr-defined]
            server._postmaster_info = PostmasterInfo.read_from_pgdata(self.datadir)
        self._server = server
        return self

    @property
    def server(self) -> pgserver.PostgresServer:
        if self._server is None:
            raise RuntimeError("PostgreSQL is not started")
        return self._server

    def url(self, database: str = "postgres") -> str:
        return str(self.server.get_uri(database))

    def create_database(self, name: str, *, drop_existing: bool = False) -> str:
        """Create database `name` if needed; return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and drop_existing:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def halt(self) -> None:
        """Stop the server process but keep this object (outage tests): clients are cut off."""
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.datadir, user=self.server.system_user)  # type: ignore[attr-defined]

    def resume(self) -> None:
        """Start the halted server again, same socket and options (pg_ctl reuses postmaster.opts)."""
        _commands.pg_ctl(["-w", "restart"], pgdata=self.datadir, user=self.server.system_user)  # type: ignore[attr-defined]
        self.server._postmaster_info = PostmasterInfo.read_from_pgdata(self.datadir)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
