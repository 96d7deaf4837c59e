"""Issue 13 benchmark: what the processing log costs on the signal path.

Starts its own embedded PostgreSQL and registers signals through the signal service's own
store (SignalStore.register: the signal row, its REGISTERED outbox event and, with the log,
its processing-log line and audit row, all in one transaction), with `--clients` concurrent
registrations. The same run alternates rounds with the log and rounds without it (the log
writer replaced by a no-op), so both see the same machine load; it prints registrations per
second of each and the ratio (with / without).

    .venv/bin/python -m bench.bench_processing_log [--signals 4000] [--clients 8] [--rounds 4]
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from devstack.postgres import EmbeddedPostgres
from services.common.db import migrate, open_pool
from services.signal import domain
from services.signal import store as signal_store
from services.signal.server import MIGRATIONS
from services.signal.store import MATCH, SignalStore

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def registration(i: int) -> domain.Signal:
    reg = domain.Registration(
        pseudonym=f"1.bench-{uuid.uuid4().hex}",
        birth_date="1990-01-01",
        professional=domain.Contact(professional_id=f"prof-{i % 50}", name="Bea", email="bea@example.org"),
        organisation=domain.OrganisationInput(organisation_id=f"org-{i % 10}", legal_basis="consent"),
        informed=domain.InformedInput(party="person", method="letter", informed_on="2030-05-01"),
        consent_given=True,
        multi_problem_attested=True,
        consent_by="person",
    )
    return domain.new_signal(reg, str(uuid.uuid4()), NOW)


async def register_all(store: SignalStore, n: int, clients: int) -> float:
    """Register n signals with `clients` concurrent callers; the seconds it took."""
    queue = iter(range(n))

    async def client() -> None:
        for i in queue:
            await store.register(registration(i), [([MATCH], b"bench")])

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


async def run(url: str, signals: int, clients: int, rounds: int) -> tuple[list[float], list[float]]:
    pool = await open_pool(url, name="bench", max_size=clients)
    store = SignalStore(pool)
    with_log: list[float] = []
    without: list[float] = []

    async def no_log(*args: Any, **kw: Any) -> None:
        return None

    try:
        await register_all(store, 200, clients)  # warm up
        for _ in range(rounds):
            with_log.append(signals / await register_all(store, signals, clients))
            with mock.patch.object(signal_store.processing_log, "write", no_log):
                without.append(signals / await register_all(store, signals, clients))
    finally:
        await pool.close()
    return with_log, without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=4000, help="signals per round and variant")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    pg = EmbeddedPostgres(Path(".cache/bench-pg"), throwaway=True).start()
    try:
        url = pg.create_database("bench_processing_log", drop_existing=True)
        migrate(url, MIGRATIONS)
        with_log, without = asyncio.run(run(url, args.signals, args.clients, args.rounds))
        a, b = statistics.median(with_log), statistics.median(without)
        print(f"signals: {args.signals:,} per round, {args.clients} clients, {args.rounds} rounds of each")
        print(
            f"with the processing log:    {a:,.0f} registrations/s (median; rounds {[round(x) for x in with_log]})"
        )
        print(
            f"without (log writer no-op): {b:,.0f} registrations/s (median; rounds {[round(x) for x in without]})"
        )
        print(f"ratio with / without: {a / b:.2f}")
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
