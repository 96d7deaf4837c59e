"""Purge jobs (docs/retention.md): delete what is past its retention in short batches.

Every service lists its rules as data (`Rule`: a table and a fixed condition on a cutoff);
`purge` / `purge_sync` delete the matching rows batch by batch, each batch its own short
transaction (`FOR UPDATE SKIP LOCKED`, so a row that a request holds is simply taken next
time), until nothing is due. Idempotent (a second run finds nothing), driven by an injected
`now`, and one log line per run with the rows removed per table. Never a long transaction,
never a lock that makes registration wait for more than one batch.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from services.common.clock import Clock

log = logging.getLogger("sluis.retention")

DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class Rule:
    """Rows of `table` where `condition` holds (with %(cutoff)s = now - keep) are purged.

    `condition` is a fixed text of the service's own module, never user input.
    """

    table: str
    condition: str
    keep: timedelta


def _batch_query(rule: Rule) -> sql.Composed:
    # ctid = ANY(ARRAY(...)): a TID scan of exactly the locked rows, no join.
    return sql.SQL(
        "DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE {c}"
        " LIMIT %(limit)s FOR UPDATE SKIP LOCKED))"
    ).format(t=sql.Identifier(rule.table), c=sql.SQL(rule.condition))


def _params(rule: Rule, now: datetime, limit: int) -> dict[str, Any]:
    return {"cutoff": now - rule.keep, "limit": limit}


def _report(service: str, counts: dict[str, int], started: float) -> None:
    log.info(
        "retention purge run",
        extra={"store": service, "purged": counts, "seconds": round(time.perf_counter() - started, 3)},
    )


async def purge(
    pool: AsyncConnectionPool,
    service: str,
    rules: Sequence[Rule],
    now: datetime,
    batch: int = DEFAULT_BATCH,
    on_batch: Callable[[float], None] | None = None,
) -> dict[str, int]:
    """Run every rule until nothing is due; rows removed per table (`on_batch`: each
    transaction's seconds, for the benchmark)."""
    started = time.perf_counter()
    counts: dict[str, int] = {}
    for rule in rules:
        query, done = _batch_query(rule), 0
        while True:
            at = time.perf_counter()
            async with pool.connection() as conn, conn.transaction():
                n = (await conn.execute(query, _params(rule, now, batch))).rowcount
            if on_batch is not None:
                on_batch(time.perf_counter() - at)
            done += n
            if n < batch:
                break
        counts[rule.table] = counts.get(rule.table, 0) + done
    _report(service, counts, started)
    return counts


def purge_sync(
    pool: ConnectionPool[psycopg.Connection[Any]],
    service: str,
    rules: Sequence[Rule],
    now: datetime,
    batch: int = DEFAULT_BATCH,
) -> dict[str, int]:
    """`purge` for a synchronous pool (the gateway)."""
    started = time.perf_counter()
    counts: dict[str, int] = {}
    for rule in rules:
        query, done = _batch_query(rule), 0
        while True:
            with pool.connection() as conn, conn.transaction():
                n = conn.execute(query, _params(rule, now, batch)).rowcount
            done += n
            if n < batch:
                break
        counts[rule.table] = counts.get(rule.table, 0) + done
    _report(service, counts, started)
    return counts


async def run_every(
    pool: AsyncConnectionPool, service: str, rules: Sequence[Rule], clock: Clock, interval: float
) -> None:
    """The scheduled purge of a service (a background task); a failed run is retried next time."""
    while True:
        try:
            await purge(pool, service, rules, clock.now())
        except Exception:
            log.exception("retention purge failed", extra={"store": service})
        await asyncio.sleep(interval)
