"""Issue 12 benchmark: the purge jobs of docs/retention.md, next to a plain DELETE in the same run.

For each service (match.access_log, notify.deliveries, gateway.audit_log) it starts from a fresh
database on an embedded PostgreSQL, loads N rows that are past their retention, runs the
service's own purge rules (services/common/retention.py: batches of short transactions with
FOR UPDATE SKIP LOCKED) while a probe writes a new row into the same table every 50 ms (the
"registration" path of that service) and records its latency; then reloads the rows and times
one plain `DELETE` of the same rows (one long transaction) with the same probe. Prints rows/s,
the longest purge transaction, the probe latencies and the ratio plain/purge.

    .venv/bin/python -m bench.bench_purge [--rows 1000000] [--batch 5000]
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from devstack.postgres import EmbeddedPostgres
from services.common.db import migrate, open_pool
from services.common.retention import Rule, purge
from services.gateway import retention as gateway_retention
from services.gateway.server import MIGRATIONS as GATEWAY_MIGRATIONS
from services.match import retention as match_retention
from services.match.server import MIGRATIONS as MATCH_MIGRATIONS
from services.notify import retention as notify_retention
from services.notify.server import MIGRATIONS as NOTIFY_MIGRATIONS

NOW = datetime(2035, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=6 * 365)

# service -> (migrations, table, rules, bulk load of n old rows, one fresh row for the probe)
CASES: dict[str, tuple[list[Path], str, tuple[Rule, ...], str, str]] = {
    "match": (
        MATCH_MIGRATIONS,
        "access_log",
        match_retention.RULES,
        "INSERT INTO access_log (professional_id, organisation_id, pseudonym, match_id, purpose, outcome,"
        " trace_id, read_at) SELECT 'prof-' || (i %% 5000), 'org-' || (i %% 40), '1.bench-' || i,"
        " gen_random_uuid()::text, 'portal', 'granted', md5(i::text), %(old)s + i * interval '1 ms'"
        " FROM generate_series(1, %(n)s) AS i",
        "INSERT INTO access_log (professional_id, organisation_id, pseudonym, match_id, purpose, outcome,"
        " trace_id, read_at) VALUES ('probe', 'org', '1.probe', 'm', 'portal', 'granted', '', %(now)s)",
    ),
    "notify": (
        NOTIFY_MIGRATIONS,
        "deliveries",
        notify_retention.RULES,
        "INSERT INTO deliveries (delivery_id, event_id, recipient, channel, kind, address, target, subject,"
        " body_text, state, next_attempt_at, created_at) SELECT gen_random_uuid(), 'e' || i, 'prof-' || i,"
        " 'email', 'match_created', 'p' || i || '@zorg.example', 'zorg.example', 'SluiS: nieuwe match',"
        " repeat('Betrokken professionals: ', 20), 'sent', %(old)s, %(old)s FROM generate_series(1, %(n)s) AS i",
        "INSERT INTO deliveries (delivery_id, event_id, recipient, channel, kind, address, target, body_text,"
        " state, next_attempt_at, created_at) VALUES (gen_random_uuid(), gen_random_uuid()::text, 'probe',"
        " 'email', 'k', 'a@b.nl', 'b.nl', 'body', 'queued', %(now)s, %(now)s)",
    ),
    "gateway": (
        GATEWAY_MIGRATIONS,
        "audit_log",
        gateway_retention.RULES,
        "INSERT INTO audit_log (at, credential_id, role, action, target, outcome, trace_id)"
        " SELECT %(old)s, gen_random_uuid(), 'professional', 'signal.register', gen_random_uuid()::text,"
        " 'ok', md5(i::text) FROM generate_series(1, %(n)s) AS i",
        "INSERT INTO audit_log (at, role, action, outcome) VALUES (%(now)s, 'probe', 'probe', 'ok')",
    ),
}


def load(url: str, statement: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, {"old": OLD, "n": rows})
        conn.execute("VACUUM ANALYZE")


async def with_probe(
    url: str, probe_sql: str, job: Callable[[], Awaitable[int]]
) -> tuple[int, float, list[float]]:
    """Run `job` while a probe inserts a row every 50 ms; (rows, seconds, probe latencies)."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            while not done.is_set():
                at = time.perf_counter()
                await conn.execute(probe_sql, {"now": NOW})
                latencies.append(time.perf_counter() - at)
                await asyncio.sleep(0.05)

    prober = asyncio.create_task(probe())
    started = time.perf_counter()
    rows = await job()
    seconds = time.perf_counter() - started
    done.set()
    await prober
    return rows, seconds, latencies


def describe(latencies: list[float]) -> str:
    lat = sorted(latencies) or [0.0]
    p99 = lat[max(0, int(len(lat) * 0.99) - 1)]
    return (
        f"probe inserts {len(latencies)}: p50 {statistics.median(lat) * 1000:.1f} ms,"
        f" p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms"
    )


async def run_case(url: str, service: str, batch: int, rows: int) -> None:
    _migrations, table, rules, bulk, probe_sql = CASES[service]
    load(url, bulk, rows)
    batches: list[float] = []

    async def job() -> int:
        pool = await open_pool(url, name="bench", max_size=2)
        try:
            counts = await purge(pool, service, rules, NOW, batch, on_batch=batches.append)
        finally:
            await pool.close()
        return counts[table]

    purged, seconds, latencies = await with_probe(url, probe_sql, job)
    assert purged == rows, (purged, rows)
    print(f"{service}.{table}: purge job {purged:,} rows in {seconds:.1f} s = {purged / seconds:,.0f} rows/s")
    print(
        f"  longest transaction {max(batches) * 1000:.0f} ms, median {statistics.median(batches) * 1000:.0f} ms"
        f" over {len(batches)} batches; {describe(latencies)}"
    )

    load(url, bulk, rows)
    (rule,) = [r for r in rules if r.table == table]

    async def plain() -> int:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute(
                f"DELETE FROM {table} WHERE {rule.condition}",  # noqa: S608 - fixed texts of this module
                {"cutoff": NOW - rule.keep},
            )
            await conn.commit()
            return cur.rowcount

    deleted, plain_seconds, plain_latencies = await with_probe(url, probe_sql, plain)
    assert deleted == rows, (deleted, rows)
    print(
        f"  plain DELETE {deleted:,} rows in {plain_seconds:.1f} s = {deleted / plain_seconds:,.0f} rows/s"
        f" (one transaction of {plain_seconds * 1000:.0f} ms); {describe(plain_latencies)}"
    )
    print(f"  ratio purge job / plain DELETE: {seconds / plain_seconds:.2f}x the time", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # 100,000 by default so `make bench` stays short; --rows 1000000 is the figure.
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--services", default=",".join(CASES))
    args = parser.parse_args()
    pg = EmbeddedPostgres(Path(".cache/bench-pg"), throwaway=True).start()
    try:
        print(f"rows: {args.rows:,} per service  batch: {args.batch:,}", flush=True)
        for service in args.services.split(","):
            url = pg.create_database(f"bench_purge_{service}", drop_existing=True)
            migrate(url, CASES[service][0])
            asyncio.run(run_case(url, service, args.batch, args.rows))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
