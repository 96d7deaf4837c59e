"""The store against real PostgreSQL: schema guarantees, rules versions, idempotency records."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
import pytest

from services.common.clock import FrozenClock
from services.common.db import open_pool
from services.match import domain
from services.match.server import MIGRATIONS
from services.match.store import IncomingEvent, MatchStore, person_lock_key

T = TypeVar("T")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def run(url: str, clock: FrozenClock, work: Callable[[MatchStore], Awaitable[T]]) -> T:
    async def main() -> T:
        pool = await open_pool(url, name="test", max_size=4)
        try:
            return await work(MatchStore(pool, clock))
        finally:
            await pool.close()

    return asyncio.run(main())


def update(prof: str, org: str, pseudonym: str, version: int = 1, active: bool = True) -> IncomingEvent:
    return IncomingEvent(
        event_id=str(uuid.uuid4()),
        update=domain.SignalUpdate(
            signal_id=f"s-{pseudonym}-{prof}",
            pseudonym=pseudonym,
            version=version,
            change=domain.SignalChange.ACTIVE if active else domain.SignalChange.INACTIVE,
            contact=domain.Contact(prof, name=prof, organisation_id=org),
            may_coordinate=True,
            domains=("youth", "debt"),
            registered_at=T0,
        ),
        bulk=False,
    )


def test_one_open_match_per_person_is_enforced_by_the_schema(new_database) -> None:
    url = new_database("match", MIGRATIONS)
    with psycopg.connect(url) as conn:
        insert = (
            "INSERT INTO matches (match_id, pseudonym, status, coordinator_professional_id, created_at)"
            " VALUES (%s, 'p', 'open', 'a', now())"
        )
        conn.execute(insert, (uuid.uuid4(),))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, (uuid.uuid4(),))


def test_rules_are_versioned(new_database) -> None:
    url = new_database("match", MIGRATIONS)
    clock = FrozenClock(T0)

    async def work(store: MatchStore) -> Any:
        empty = await store.rules()
        versions = await asyncio.gather(*(store.set_rules([f"o{i}"], ["youth"], "admin") for i in range(5)))
        return empty, sorted(r.version for r in versions), await store.rules()

    empty, versions, newest = run(url, clock, work)
    assert empty == domain.CoordinatorRules()
    assert versions == [1, 2, 3, 4, 5]
    assert newest.version == 5 and newest.domain_priority == ("youth",) and newest.created_by == "admin"


def test_involvements_round_trip_and_idempotency_records_expire(new_database) -> None:
    url = new_database("match", MIGRATIONS)
    clock = FrozenClock(T0)
    p = "1.person"
    events = [update("a", "o1", p), update("b", "o2", p)]

    async def work(store: MatchStore) -> Any:
        first = await store.apply_events(events)
        again = await store.apply_events(events)
        involvements, match = await store.person(p)
        clock.advance(timedelta(days=31))
        forgotten = await store.forget_processed_events(timedelta(days=30))
        # After the window the event ids are forgotten, but the versions still guard.
        late = await store.apply_events(events)
        return first, again, involvements, match, forgotten, late

    first, again, involvements, match, forgotten, late = run(url, clock, work)
    assert (first.applied, first.duplicates) == (2, 0)
    assert (again.applied, again.duplicates) == (0, 2)
    assert {i.contact.professional_id for i in involvements} == {"a", "b"}
    assert all(i.domains == ("youth", "debt") for i in involvements)
    assert match is not None and {m.domains for m in match.members} == {("youth", "debt")}
    assert forgotten == 2
    assert (late.applied, late.duplicates) == (0, 2)


def test_lock_keys_are_stable_signed_64_bit() -> None:
    key = person_lock_key("1.abc")
    assert key == person_lock_key("1.abc") != person_lock_key("1.abd")
    assert -(2**63) <= key < 2**63
