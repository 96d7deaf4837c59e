"""Transactional outbox: write events with the business change, deliver them at least once.

`enqueue` is called inside the caller's transaction. `OutboxRelay` runs in the background of
the producing service: it takes a batch per destination with FOR UPDATE SKIP LOCKED, hands
it to the destination's sender (a gRPC call to an idempotent receiver) and deletes the rows
only after the receiver answered. A crash between the two means a redelivery, never a loss.

Trace context travels with every event: a row keeps the `traceparent`/`tracestate` of the
transaction that wrote it. The relay's delivery span continues that trace when the batch
has one origin (the gRPC call then carries it as metadata), and links to every origin
otherwise; senders `stamp` each event with its own origin, so the receiver continues each
event's trace (see telemetry.continue_trace).
"""

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import Attributes
from psycopg_pool import AsyncConnectionPool

from services.common import telemetry
from services.common.backoff import backoff

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations" / "outbox"
CHANNEL = "sluis_outbox"
# Waits after a failed delivery to one destination (services.common.backoff).
RETRY_BASE_SECONDS = 0.4
RETRY_CAP_SECONDS = 30.0

Sender = Callable[[list[bytes]], Awaitable[None]]
# (traceparent, tracestate) of the transaction that wrote an event; ('', '') when unknown.
Origin = tuple[str, str]

# The origins of the batch a sender is delivering, in payload order (see `stamp`).
_delivering: contextvars.ContextVar[Sequence[Origin]] = contextvars.ContextVar("outbox_delivering")


async def enqueue(conn: psycopg.AsyncConnection, destinations: Iterable[str], payload: bytes) -> None:
    """Add one event for each destination, inside the caller's transaction."""
    dests = list(destinations)
    parent, state = telemetry.current_traceparent()
    await conn.execute(
        "INSERT INTO outbox (destination, payload, traceparent, tracestate)"
        " SELECT d, %s, %s, %s FROM unnest(%s::text[]) AS d",
        (payload, parent, state, dests),
    )
    await conn.execute(f"NOTIFY {CHANNEL}")


async def enqueue_many(
    conn: psycopg.AsyncConnection,
    destinations: Iterable[str],
    payloads: list[bytes],
    origins: Sequence[Origin] | None = None,
) -> None:
    """Many events in one statement (bulk paths).

    `origins` (one per payload): the trace each event belongs to when it is not the current
    one, e.g. a notice that waited in a table since an earlier transaction.
    """
    if not payloads:
        return
    if origins is None:
        origins = [telemetry.current_traceparent()] * len(payloads)
    async with conn.cursor() as cur:
        for dest in destinations:
            await cur.executemany(
                "INSERT INTO outbox (destination, payload, traceparent, tracestate) VALUES (%s, %s, %s, %s)",
                [(dest, p, o[0], o[1]) for p, o in zip(payloads, origins, strict=True)],
            )
    await conn.execute(f"NOTIFY {CHANNEL}")


M = TypeVar("M")


def stamp(events: list[M]) -> list[M]:
    """Inside a sender: give each decoded event (a message with `traceparent` and `tracestate`
    fields) the trace context stored with its outbox row, so the receiver continues it."""
    origins = _delivering.get(())
    if len(origins) == len(events):
        for event, (parent, state) in zip(events, origins, strict=True):
            target: Any = event
            target.traceparent, target.tracestate = parent, state
    return events


def _delivery_span(destination: str, origins: Sequence[Origin]) -> Any:
    """The span of one delivery: in the origin's trace when the batch has one, else a new
    trace linked to each origin. Never a span for a poll that found nothing."""
    attributes: Attributes = {
        "messaging.destination.name": destination,
        "messaging.batch.message_count": len(origins),
    }
    distinct = set(origins)
    name = f"outbox deliver {destination}"
    if len(distinct) == 1:
        parent = telemetry.origin_context(*next(iter(distinct)))
        if parent is not None:
            return telemetry.tracer().start_as_current_span(
                name, context=parent, kind=SpanKind.PRODUCER, attributes=attributes
            )
    return telemetry.tracer().start_as_current_span(
        name,
        context=trace.set_span_in_context(trace.INVALID_SPAN),
        kind=SpanKind.PRODUCER,
        links=telemetry.links_to(origins),
        attributes=attributes,
    )


class OutboxRelay:
    """Delivers pending outbox rows to their destinations until stopped."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        senders: Mapping[str, Sender],
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        batch_sizes: Mapping[str, int] | None = None,
        linger: float = 0.0,
    ) -> None:
        self.pool = pool
        # After a batch smaller than the limit, wait this long before the next one, so that
        # under a steady trickle the receiver gets fewer, larger batches (issue 21: one call
        # and one transaction per event cost more than the events). The first event after a
        # quiet spell still goes at once.
        self.linger = linger
        self.conninfo = str(pool.conninfo)
        self.senders = dict(senders)
        self.batch_size = batch_size
        # Per destination, where the receiver takes bigger batches (it applies them in one go).
        self.batch_sizes = dict(batch_sizes or {})
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._failures: dict[str, int] = {}
        # A failing destination is left alone until its backoff has passed, even when new
        # events wake the relay, so a receiver that is down is not hammered.
        self._not_before: dict[str, float] = {}

    async def drain(self, destination: str) -> int:
        """Deliver batches for one destination until none is pending; return rows delivered."""
        sender = self.senders[destination]
        limit = self.batch_sizes.get(destination, self.batch_size)
        delivered = 0
        while True:
            async with self.pool.connection() as conn, conn.transaction():
                rows = await (
                    await conn.execute(
                        "SELECT id, payload, traceparent, tracestate FROM outbox"
                        " WHERE destination = %s"
                        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                        (destination, limit),
                    )
                ).fetchall()
                if not rows:
                    return delivered
                origins = [(r[2], r[3]) for r in rows]
                with _delivery_span(destination, origins):
                    token = _delivering.set(origins)
                    try:
                        await sender([bytes(r[1]) for r in rows])
                    finally:
                        _delivering.reset(token)
                    await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
            delivered += len(rows)
            self._failures[destination] = 0
            if self.linger > 0 and len(rows) < limit:
                await asyncio.sleep(self.linger)

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
