"""Transactional outbox: write events with the business change, deliver them at least once.

`enqueue` is called inside the caller's transaction. `OutboxRelay` runs in the background of
the producing service: it takes a batch per destination with FOR UPDATE SKIP LOCKED, hands
it to the destination's sender (a gRPC call to an idempotent receiver) and deletes the rows
only after the receiver answered. A crash between the two means a redelivery, never a loss.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

from services.common.backoff import backoff

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations" / "outbox"
CHANNEL = "sluis_outbox"
# Waits after a failed delivery to one destination (services.common.backoff).
RETRY_BASE_SECONDS = 0.4
RETRY_CAP_SECONDS = 30.0

Sender = Callable[[list[bytes]], Awaitable[None]]


async def enqueue(conn: psycopg.AsyncConnection, destinations: Iterable[str], payload: bytes) -> None:
    """Add one event for each destination, inside the caller's transaction."""
    dests = list(destinations)
    await conn.execute(
        "INSERT INTO outbox (destination, payload) SELECT d, %s FROM unnest(%s::text[]) AS d",
        (payload, dests),
    )
    await conn.execute(f"NOTIFY {CHANNEL}")


async def enqueue_many(
    conn: psycopg.AsyncConnection, destinations: Iterable[str], payloads: list[bytes]
) -> None:
    """Many events in one statement (bulk paths)."""
    if not payloads:
        return
    async with conn.cursor() as cur:
        for dest in destinations:
            await cur.executemany(
                "INSERT INTO outbox (destination, payload) VALUES (%s, %s)",
                [(dest, p) for p in payloads],
            )
    await conn.execute(f"NOTIFY {CHANNEL}")


class OutboxRelay:
    """Delivers pending outbox rows to their destinations until stopped."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        senders: Mapping[str, Sender],
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.conninfo = str(pool.conninfo)
        self.senders = dict(senders)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._failures: dict[str, int] = {}
        # A failing destination is left alone until its backoff has passed, even when new
        # events wake the relay, so a receiver that is down is not hammered.
        self._not_before: dict[str, float] = {}

    async def drain(self, destination: str) -> int:
        """Deliver batches for one destination until none is pending; return rows delivered."""
        sender = self.senders[destination]
        delivered = 0
        while True:
            async with self.pool.connection() as conn, conn.transaction():
                rows = await (
                    await conn.execute(
                        "SELECT id, payload FROM outbox WHERE destination = %s"
                        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                        (destination, self.batch_size),
                    )
                ).fetchall()
                if not rows:
                    return delivered
                await sender([bytes(r[1]) for r in rows])
                await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
            delivered += len(rows)
            self._failures[destination] = 0

    async def _listen(self) -> None:
        """Wake the relay as soon as a producing transaction commits."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox listener reconnecting", exc_info=True)
                await asyncio.sleep(1.0)

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while True:
                self._wake.clear()
                loop = asyncio.get_running_loop()
                delay = self.poll_interval
                for destination in self.senders:
                    wait = self._not_before.get(destination, 0.0) - loop.time()
                    if wait > 0:
                        delay = min(delay, wait)
                        continue
                    try:
                        await self.drain(destination)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        n = self._failures.get(destination, 0) + 1
                        self._failures[destination] = n
                        pause = backoff(n, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS)
                        self._not_before[destination] = loop.time() + pause
                        delay = min(delay, pause)
                        log.warning(
                            "outbox delivery failed, will retry",
                            extra={"destination": destination, "attempt": n, "error": type(exc).__name__},
                        )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
        finally:
            listener.cancel()
