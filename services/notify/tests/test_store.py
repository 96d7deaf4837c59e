"""The queue's SQL against real PostgreSQL: claims are disjoint, outcomes recorded, digests once."""

import asyncio
from datetime import UTC, datetime, timedelta

from services.common.db import open_pool
from services.notify import domain
from services.notify.server import MIGRATIONS
from services.notify.store import DueDelivery, NotifyStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def notice(n: int) -> domain.Notice:
    people = tuple(domain.Contact(f"p{n}-{i}", f"P {i}", email=f"p{n}-{i}@zorg.example") for i in range(2))
    return domain.Notice(
        f"e{n}", "match_created", NOW, people, match_id=f"m{n}", members=tuple(map(domain.Member, people))
    )


def planner(notice, daily, hooks):
    return domain.plan(notice, now=NOW, portal_url="https://p", daily_digest=daily, webhooks=hooks)


def record(delivery: DueDelivery, outcome: domain.Outcome):
    state, attempts = domain.after_attempt(outcome, delivery.attempts, 3)
    return state, attempts, NOW, outcome.error


def test_concurrent_workers_claim_disjoint_rows(new_database) -> None:
    url = new_database("notify", MIGRATIONS)

    async def scenario() -> list[list[str]]:
        pool = await open_pool(url, name="notify-test", max_size=4)
        store = NotifyStore(pool)
        try:
            assert await store.apply([notice(n) for n in range(20)], NOW, planner) == (20, 0)
            assert await store.apply([notice(0)], NOW, planner) == (0, 1)
            seen: list[list[str]] = []

            async def handler(batch: list[DueDelivery]) -> list[domain.Outcome]:
                seen.append([d.delivery_id for d in batch])
                await asyncio.sleep(0.2)  # both claims are open at the same time
                return [domain.SENT_OUTCOME] * len(batch)

            counts = await asyncio.gather(
                store.process_due(NOW, 25, handler, apply_outcome=record),
                store.process_due(NOW, 25, handler, apply_outcome=record),
            )
            assert sorted(counts) == [15, 25]
            assert await store.process_due(NOW, 25, handler, apply_outcome=record) == 0
            assert await store.stats() == [("email", "sent", 40)]
            assert await store.next_due_in(NOW) is None
            return seen
        finally:
            await pool.close()

    seen = asyncio.run(scenario())
    assert len(seen) == 2 and not set(seen[0]) & set(seen[1])


def test_failures_retry_then_die_and_digests_fold_once(new_database) -> None:
    url = new_database("notify", MIGRATIONS)

    async def scenario() -> None:
        pool = await open_pool(url, name="notify-test", max_size=2)
        store = NotifyStore(pool)
        try:
            await store.set_digest("p1-0", domain.DIGEST_DAILY, NOW)
            await store.apply([notice(1)], NOW, planner)

            async def failing(batch: list[DueDelivery]) -> list[domain.Outcome]:
                return [domain.Outcome(ok=False, error="smtp 451")] * len(batch)

            for _ in range(3):
                assert await store.process_due(NOW, 10, failing, apply_outcome=record) == 1
            assert dict(((c, s), n) for c, s, n in await store.stats()) == {
                ("email", "dead"): 1,
                ("email", "held"): 1,
            }
            dead = await store.dead_letters(10, 0)
            assert (dead[0].attempts, dead[0].last_error, dead[0].target) == (3, "smtp 451", "zorg.example")
            assert await store.retry_dead(dead[0].delivery_id, NOW)
            assert not await store.retry_dead(dead[0].delivery_id, NOW)
            assert not await store.retry_dead("not-a-uuid", NOW)

            def render(name: str, summaries: list[str]) -> domain.Mail:
                return domain.render_digest(name, summaries, "https://p")

            later = NOW + timedelta(days=1)
            assert await store.fold_digests(later, later, render) == 1
            assert await store.fold_digests(later, later, render) == 0
            states = dict(((c, s), n) for c, s, n in await store.stats())
            assert states == {("email", "queued"): 2, ("email", "digested"): 1}
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_no_transaction_is_open_while_a_batch_is_sent_and_a_dead_worker_is_taken_over(new_database) -> None:
    url = new_database("notify", MIGRATIONS)
    lease = timedelta(minutes=2)

    async def scenario() -> None:
        pool = await open_pool(url, name="notify-test", max_size=3)
        store = NotifyStore(pool)
        try:
            await store.apply([notice(1)], NOW, planner)
            open_during_send: list[int] = []

            async def handler(batch: list[DueDelivery]) -> list[domain.Outcome]:
                async with pool.connection() as conn:
                    row = await (
                        await conn.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND state LIKE 'idle in transaction%%'"
                        )
                    ).fetchone()
                open_during_send.append(int(row[0]) if row else -1)
                return [domain.SENT_OUTCOME] * len(batch)

            assert await store.process_due(NOW, 10, handler, apply_outcome=record, lease=lease) == 2
            assert open_during_send == [0]
            assert await store.stats() == [("email", "sent", 2)]

            # A worker that claimed and died: nobody takes the rows until its lease has passed.
            await store.apply([notice(2)], NOW, planner)
            assert len(await store.claim_due(NOW, 10, lease)) == 2
            assert await store.claim_due(NOW + lease - timedelta(seconds=1), 10, lease) == []
            assert await store.process_due(NOW + lease, 10, handler, apply_outcome=record, lease=lease) == 2
        finally:
            await pool.close()

    asyncio.run(scenario())
