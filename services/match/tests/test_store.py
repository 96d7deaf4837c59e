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
from services.common.processing_log import Line
from services.match import domain, logbook
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


def test_key_rotation_adapter_converts_a_person_in_every_table(new_database) -> None:
    """services/common/rekey.py's RekeyableStore over involvements and matches (the processing
    log is linked, not altered); an event carrying the new key converts the person first, so
    it joins the same match."""
    url = new_database("match", MIGRATIONS)
    clock = FrozenClock(T0)

    def read(pseudonym: str) -> Line:
        return logbook.disclosure("match.involvement", pseudonym, "a", "A", "portal", granted=False)

    async def work(store: MatchStore) -> None:
        await store.apply_events([update("a", "A", "1.anna"), update("b", "B", "1.anna")])
        await store.apply_events([update("a", "A", "1.bert"), update("b", "B", "1.bert")])
        await store.log_lines([read("1.anna"), read("1.bert")])
        _, before = await store.person("1.anna")
        assert before is not None
        assert await store.count_version(1) == 2 * (2 + 1)
        assert sorted(await store.old_version_batch(1, 10)) == ["1.anna", "1.bert"]
        assert len(await store.old_version_batch(1, 1)) == 1

        # An event under the new key (or an old one mapped to it) converts the person first.
        await store.apply_events([update("c", "C", "2.anna")], {"2.anna": "1.anna"})
        involvements, after = await store.person("2.anna")
        assert after is not None and after.match_id == before.match_id
        assert {m.professional_id for m in after.members} == {"a", "b", "c"}
        assert len(involvements) == 3 and await store.person("1.anna") == ([], None)
        refused = [x for x in await store.processing_log("2.anna") if x.name == "match.involvement"]
        assert [x.status_code for x in refused] == ["error"]  # written under 1.anna, found by 2.anna

        # The batch converts the rest; a read converts a person on the way.
        assert await store.replace({"1.bert": "2.bert", "1.nobody": "2.nobody"}) == 3
        await store.convert_person("2.bert", "1.bert")  # already done: nothing to do
        assert await store.count_version(1) == 0 and await store.old_version_batch(1, 10) == []
        _, bert = await store.person("2.bert")
        assert bert is not None and len(bert.members) == 2

    run(url, clock, work)
