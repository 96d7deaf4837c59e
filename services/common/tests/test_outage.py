"""Issue 14 row 4: with PostgreSQL down a request fails fast with UNAVAILABLE, then recovers.

The test runs its own PostgreSQL server (its own data directory), so halting it cannot
disturb any other test running in parallel.
"""

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import psycopg
import pytest
from psycopg_pool import PoolTimeout

from devstack.fixtures import CACHE
from devstack.postgres import EmbeddedPostgres
from services.common import errors
from services.common.db import is_database_outage, open_pool
from services.common.grpcserver import ErrorInterceptor


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    # Under the repo's .cache (like the shared test cluster): the server's own user must be
    # able to reach the data directory, which pytest's private temp root does not allow.
    datadir = CACHE / f"pg-outage-{uuid.uuid4().hex[:8]}"
    pg = EmbeddedPostgres(datadir, throwaway=True).start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(datadir, ignore_errors=True)


def test_pool_fails_fast_while_postgres_is_down_and_recovers_without_restart(own_postgres) -> None:
    async def scenario() -> list[str]:
        pool = await open_pool(own_postgres.url(), name="outage", timeout=0.5)
        seen: list[str] = []
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
            own_postgres.halt()
            for _ in range(3):
                try:
                    async with pool.connection() as conn:
                        await conn.execute("SELECT 1")
                    seen.append("ok")
                except Exception as exc:
                    seen.append("outage" if is_database_outage(exc) else type(exc).__name__)
            own_postgres.resume()
            # The same pool recovers on its own (no restart of the service); its reconnect
            # back-off may take a few attempts.
            for _ in range(60):
                try:
                    async with pool.connection() as conn:
                        row = await (await conn.execute("SELECT 41 + 1")).fetchone()
                    seen.append(str(row[0]) if row else "none")
                    break
                except PoolTimeout:
                    continue
        finally:
            await pool.close()
        return seen

    assert asyncio.run(scenario()) == ["outage", "outage", "outage", "42"]


def test_a_bad_query_is_not_an_outage() -> None:
    assert is_database_outage(PoolTimeout("x"))
    assert is_database_outage(psycopg.OperationalError("server closed the connection"))
    assert not is_database_outage(psycopg.errors.UndefinedTable("no such table"))
    assert not is_database_outage(ValueError("x"))


def test_the_interceptor_answers_unavailable_with_retry_after_for_a_database_outage() -> None:
    async def boom(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise PoolTimeout("couldn't get a connection after 3.00 sec")

    async def scenario() -> grpc.aio.AioRpcError:
        server = grpc.aio.server(interceptors=[ErrorInterceptor()])
        handler = grpc.method_handlers_generic_handler(
            "t.T", {"M": grpc.unary_unary_rpc_method_handler(boom)}
        )
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                call: Any = channel.unary_unary("/t.T/M")
                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await call(b"", timeout=5)
                return exc.value
        finally:
            await server.stop(0)

    error = asyncio.run(scenario())
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    rebuilt = errors.from_rpc_error(error)
    assert rebuilt.reason == "service_unavailable" and errors.http_status(rebuilt) == 503
    assert rebuilt.metadata.get("retry_after") == str(errors.RETRY_AFTER_SECONDS)
