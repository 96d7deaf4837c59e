"""The store on a real PostgreSQL: batching, locking and idempotence of the lifecycle job."""

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import psycopg
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.common.db import open_pool
from services.common.errors import AlreadyExists
from services.signal import domain
from services.signal.server import MIGRATIONS
from services.signal.store import MATCH, NOTIFY, SignalStore, outbox_copy_data
from services.signal.tests.helpers import START, registration

R = TypeVar("R")


def with_store(url: str, work: Callable[[SignalStore], Awaitable[R]]) -> R:
    async def main() -> R:
        pool = await open_pool(url, name="signal-test", max_size=6)
        try:
            return await work(SignalStore(pool))
        finally:
            await pool.close()

    return asyncio.run(main())


def new_signal(pseudonym: str, professional_id: str = "prof-1") -> domain.Signal:
    base = registration(pseudonym=pseudonym)
    contact = dataclasses.replace(base.professional, professional_id=professional_id)
    return domain.new_signal(dataclasses.replace(base, professional=contact), str(uuid.uuid4()), START)


@pytest.fixture
def url(new_database: Callable[..., str]) -> str:
    return new_database("signalstore", MIGRATIONS)


def outbox_rows(url: str) -> list[tuple[str, bytes]]:
    with psycopg.connect(url) as conn:
        return [(d, bytes(p)) for d, p in conn.execute("SELECT destination, payload FROM outbox ORDER BY id")]


def test_copy_format_keeps_payload_bytes_exact(url: str) -> None:
    payloads = [bytes(range(256)), b"\\x00\t\n\r\\", b""]

    async def work(store: SignalStore) -> None:
        from services.signal.store import _enqueue_copy

        async with store.pool.connection() as conn, conn.transaction():
            await _enqueue_copy(conn, outbox_copy_data([([MATCH, NOTIFY], p) for p in payloads]))

    with_store(url, work)
    rows = outbox_rows(url)
    assert rows == [(d, p) for p in payloads for d in (MATCH, NOTIFY)]


def test_concurrent_job_runs_process_every_signal_once(url: str) -> None:
    signals = [new_signal(f"1.p{i}") for i in range(60)]
    now = START + timedelta(days=731)

    async def work(store: SignalStore) -> list[Any]:
        await store.register_many(signals, lambda s: [])
        # Three replicas run the job at the same moment, in small batches.
        return list(await asyncio.gather(*(store.run_lifecycle(now, batch_size=7) for _ in range(3))))

    counts = with_store(url, work)
    assert sum(c.expired for c in counts) == 60
    rows = outbox_rows(url)
    events = [pb.SignalEvent.FromString(p) for d, p in rows if d == MATCH]
    assert sorted(e.signal_id for e in events) == sorted(s.signal_id for s in signals)
    assert all(e.kind == pb.SIGNAL_EVENT_KIND_ENDED and e.end_reason == pb.END_REASON_EXPIRED for e in events)
    assert len([d for d, _ in rows if d == NOTIFY]) == 60
    # A later run finds nothing: idempotent.
    again = with_store(url, lambda store: store.run_lifecycle(now, batch_size=7))
    assert (again.reminded, again.expired, again.purged) == (0, 0, 0)


def test_registration_is_not_blocked_by_an_open_expiry_batch(url: str) -> None:
    lapsed = new_signal("1.lapsing")
    with_store(url, lambda store: store.register(lapsed, []))
    now = START + timedelta(days=731)

    async def work(store: SignalStore) -> tuple[float, bool]:
        # Hold an expiry batch's locks in another connection, as a slow batch would.
        async with await psycopg.AsyncConnection.connect(url) as holder:
            await holder.execute(
                "SELECT signal_id FROM signals WHERE status = 'active' AND active_until <= %s FOR UPDATE",
                (now,),
            )
            loop = asyncio.get_running_loop()
            started = loop.time()
            # Another person: not blocked at all.
            await asyncio.wait_for(store.register(new_signal("1.someone-else"), []), timeout=5)
            elapsed = loop.time() - started
            # Meanwhile, the job skips the locked row instead of waiting for it (and expires
            # the other signal, which has lapsed too).
            skipped = await asyncio.wait_for(store.expire_batch(now, 10), timeout=5) == 1
            skipped = skipped and (await store.get(lapsed.signal_id)).status is domain.Status.ACTIVE  # type: ignore[union-attr]
            await holder.rollback()
        return elapsed, skipped

    elapsed, skipped = with_store(url, work)
    assert elapsed < 5 and skipped
    assert with_store(url, lambda store: store.run_lifecycle(now)).expired == 1


def test_same_person_can_be_signalled_again_once_lapsed(url: str) -> None:
    first = new_signal("1.again")
    with_store(url, lambda store: store.register(first, []))
    now = START + timedelta(days=731)
    with_store(url, lambda store: store.run_lifecycle(now))
    second = domain.new_signal(registration(pseudonym="1.again"), str(uuid.uuid4()), now)
    with_store(url, lambda store: store.register(second, []))
    with psycopg.connect(url) as conn:
        statuses = sorted(r[0] for r in conn.execute("SELECT status FROM signals"))
    assert statuses == ["active", "archived"]


def test_bulk_returns_blocking_ids(url: str) -> None:
    existing = new_signal("1.x")
    with_store(url, lambda store: store.register(existing, []))
    load = [new_signal("1.x"), new_signal("1.y"), new_signal("1.y"), new_signal("1.x", "prof-2")]
    blocked = with_store(url, lambda store: store.register_many(load, lambda s: [([MATCH], b"e")]))
    assert blocked == [existing.signal_id, None, load[1].signal_id, None]
    assert len(outbox_rows(url)) == 2


def test_key_rotation_adapter_converts_every_signal_of_a_person(url: str) -> None:
    """services/common/rekey.py's RekeyableStore: batches by key version, conversion per person,
    and a registration during a rotation that converts the person first (so the professional's
    active signal under the old key still blocks a second one)."""

    async def work(store: SignalStore) -> None:
        await store.register(new_signal("1.anna", "prof-1"), [])
        await store.register(new_signal("1.anna", "prof-2"), [])
        await store.register(new_signal("1.bert", "prof-1"), [])
        await store.register(new_signal("2.carla", "prof-1"), [])
        assert await store.count_version(1) == 3
        assert sorted(await store.old_version_batch(1, 10)) == ["1.anna", "1.bert"]
        assert len(await store.old_version_batch(1, 1)) == 1

        # Same professional, same person, new key: refused like any second active signal
        # (and the refusal writes nothing, not even the conversion).
        with pytest.raises(AlreadyExists):
            await store.register(new_signal("2.anna", "prof-1"), [], previous="1.anna")
        assert len(await store.list_on_pseudonym("1.anna")) == 2
        # Another professional on the converted person joins them under the new key.
        await store.register(new_signal("2.anna", "prof-3"), [], previous="1.anna")
        assert len(await store.list_on_pseudonym("2.anna")) == 3

        # Bulk: converted first, duplicates blocked, the rest stored.
        blocked = await store.register_many(
            [new_signal("2.bert", "prof-1"), new_signal("2.bert", "prof-4")],
            lambda s: [],
            {"1.bert": "2.bert"},
        )
        assert blocked[0] and blocked[1] is None

        # A read converts too; the batch converts what nobody touched.
        await store.register(new_signal("1.dirk", "prof-1"), [])
        await store.register(new_signal("1.eva", "prof-1"), [])
        assert len(await store.list_on_pseudonym("2.dirk", "1.dirk")) == 1
        assert await store.replace({"1.eva": "2.eva", "1.unknown": "2.unknown"}) == 1
        assert await store.count_version(1) == 0
        assert await store.old_version_batch(1, 10) == []
        assert await store.count_version(2) == 8

    with_store(url, work)


def test_expiry_in_sql_writes_what_the_domain_decides(url: str) -> None:
    # The job notices a day late: the signal is still archived as of the moment it lapsed.
    signal = new_signal("1.lapsing")
    now = signal.active_until + timedelta(days=1)

    async def work(store: SignalStore) -> domain.Signal | None:
        await store.register_many([signal], lambda s: [])
        assert await store.expire_batch(now, 10) == 1
        return await store.get(signal.signal_id)

    assert with_store(url, work) == domain.lapsed(signal)
