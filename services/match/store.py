"""All SQL of the match service: involvements, matches, members, rules, access log, outbox.

Every change to one person's data happens under a transaction-scoped advisory lock on a
hash of their pseudonym, so concurrent signal events (from several signal replicas, or
redeliveries) are serialised per person and create exactly one match with one coordinator.
The unique partial index `matches_one_open_per_person` is the second line of defence.
"""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from services.common import outbox
from services.common.clock import Clock
from services.match import convert, domain, erasure, transfers

NOTIFY = "notify"
# Persons per transaction when applying a batch: a batch of 500 events is normally one
# transaction (few round trips); the locks are per person, so only events of the same people wait.
PERSONS_PER_TRANSACTION = 500

_INVOLVEMENT_COLUMNS = (
    "signal_id, pseudonym, professional_id, name, role, phone, email, organisation_id,"
    " organisation_name, may_coordinate, domains, registered_at, active, version"
)


def person_lock_key(pseudonym: str) -> int:
    """A signed 64-bit advisory lock key for one person."""
    return int.from_bytes(hashlib.blake2b(pseudonym.encode(), digest_size=8).digest(), "big", signed=True)


def parse_match_id(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class IncomingEvent:
    event_id: str
    update: domain.SignalUpdate | None  # None: a kind that does not concern matching
    bulk: bool


@dataclass
class ApplyResult:
    applied: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class AccessRecord:
    professional_id: str
    organisation_id: str
    pseudonym: str
    match_id: str
    purpose: str
    outcome: str
    trace_id: str
    read_at: datetime


def _involvement(row: Sequence[Any]) -> domain.Involvement:
    return domain.Involvement(
        signal_id=row[0],
        pseudonym=row[1],
        contact=domain.Contact(row[2], row[3], row[4], row[5], row[6], row[7], row[8]),
        may_coordinate=row[9],
        domains=tuple(row[10]),
        registered_at=row[11],
        active=row[12],
        version=row[13],
    )


def _involvement_params(inv: domain.Involvement) -> tuple[Any, ...]:
    c = inv.contact
    return (
        inv.signal_id,
        inv.pseudonym,
        c.professional_id,
        c.name,
        c.role,
        c.phone,
        c.email,
        c.organisation_id,
        c.organisation_name,
        inv.may_coordinate,
        ",".join(inv.domains),
        inv.registered_at,
        inv.active,
        inv.version,
    )


def _member_params(match_id: str, m: domain.Member) -> tuple[Any, ...]:
    c = m.contact
    return (
        match_id,
        c.professional_id,
        m.signal_id,
        c.name,
        c.role,
        c.phone,
        c.email,
        c.organisation_id,
        c.organisation_name,
        m.may_coordinate,
        ",".join(m.domains),
        m.registered_at,
        m.joined_at,
    )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> tuple[list[Any], ...]:
    """Rows as one list per column, for INSERT ... SELECT FROM unnest(arrays).

    Domains travel as comma-joined text (domain names are fixed codes without commas)
    because unnest would flatten an array of arrays.
    """
    return tuple([row[i] for row in rows] for i in range(width))


class MatchStore:
    def __init__(
        self, pool: AsyncConnectionPool, clock: Clock, notice_delay: timedelta = timedelta(0)
    ) -> None:
        self.pool = pool
        self.clock = clock
        # How long creation/joining notices wait to absorb a burst (0: straight to the outbox).
        self.notice_delay = notice_delay

    # --- key rotation (services/common/rekey.py RekeyableStore) --------------------------

    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        """Up to `limit` distinct pseudonyms still under key `version`, in any table."""
        pattern = f"{version}.%"
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT pseudonym FROM (SELECT pseudonym FROM involvements WHERE pseudonym LIKE %(p)s"
                    " UNION SELECT pseudonym FROM matches WHERE pseudonym LIKE %(p)s"
                    " UNION SELECT pseudonym FROM access_log WHERE pseudonym LIKE %(p)s) AS old LIMIT %(n)s",
                    {"p": pattern, "n": limit},
                )
            ).fetchall()
        return [r[0] for r in rows]

    async def replace(self, mapping: dict[str, str]) -> int:
        """Replace old by new pseudonyms in one short transaction under the persons' locks."""
        if not mapping:
            return 0
        async with self.pool.connection() as conn, conn.transaction():
            # The business path's locks, in its order (lock key), so the two never deadlock.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
                (sorted({person_lock_key(new) for new in mapping.values()}),),
            )
            return await self._convert(conn, mapping)

    async def count_version(self, version: int) -> int:
        """Rows still under key `version` in every table (operator progress)."""
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT (SELECT count(*) FROM involvements WHERE pseudonym LIKE %(p)s)"
                    " + (SELECT count(*) FROM matches WHERE pseudonym LIKE %(p)s)"
                    " + (SELECT count(*) FROM access_log WHERE pseudonym LIKE %(p)s)",
                    {"p": f"{version}.%"},
                )
            ).fetchone()
        return int(row[0]) if row else 0

    async def convert_person(self, current: str, previous: str | None) -> None:
        """A person read during a key rotation: their rows under `previous` now carry `current`."""
        if previous is not None and previous != current:
            await self.replace({previous: current})

    @staticmethod
    async def _convert(conn: psycopg.AsyncConnection, mapping: dict[str, str]) -> int:
        """Old -> new pseudonym in every table that keeps one; the caller holds the locks."""
        olds = sorted(mapping)
        news = [mapping[o] for o in olds]
        changed = 0
        for table in ("involvements", "matches", "access_log"):
            cur = await conn.execute(
                sql.SQL(
                    "UPDATE {} t SET pseudonym = m.new FROM unnest(%s::text[], %s::text[]) AS m(old, new)"
                    " WHERE t.pseudonym = m.old"
                ).format(sql.Identifier(table)),
                (olds, news),
            )
            changed += cur.rowcount
        return changed

    # --- signal events ------------------------------------------------------------------

    async def apply_events(
        self, events: Sequence[IncomingEvent], previous: dict[str, str] | None = None
    ) -> ApplyResult:
        """Apply signal events idempotently; one transaction per group of persons.

        `previous` (current -> old pseudonym, during a key rotation): each person's rows are
        converted to the current pseudonym under their lock before the events are applied.
        """
        result = ApplyResult()
        by_person: dict[str, list[IncomingEvent]] = defaultdict(list)
        seen: set[str] = set()
        for ev in events:
            if ev.event_id in seen:
                result.duplicates += 1
                continue
            seen.add(ev.event_id)
            by_person[ev.update.pseudonym if ev.update else ""].append(ev)
        persons = sorted(by_person, key=person_lock_key)
        for start in range(0, len(persons), PERSONS_PER_TRANSACTION):
            group = persons[start : start + PERSONS_PER_TRANSACTION]
            async with self.pool.connection() as conn, conn.transaction():
                # Transferred signals: the coordinator role follows the colleague (transfers.py).
                updates = [ev.update for p in group for ev in by_person[p]]
                await transfers.hand_over_role(conn, group, updates)
                await self._apply_group(conn, group, by_person, result, previous or {})
                # Deleted signals: every copy goes in this transaction (services/match/erasure.py).
                deleted = erasure.erased_ids(updates)
                await erasure.erase_signals(conn, deleted, self.clock.now())
        return result

    async def _apply_group(
        self,
        conn: psycopg.AsyncConnection,
        persons: list[str],
        by_person: dict[str, list[IncomingEvent]],
        result: ApplyResult,
        previous: dict[str, str],
    ) -> None:
        # Locks in one fixed (hash) order, so two transactions never wait on each other in a cycle.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
            ([person_lock_key(p) for p in persons],),
        )
        rotating = {previous[p]: p for p in persons if p in previous and previous[p] != p}
        if rotating:
            await self._convert(conn, rotating)
        events = [ev for p in persons for ev in by_person[p]]
        # Events of an erased signal (a late redelivery) must not bring it back.
        gone = await erasure.already_erased(conn, [ev.update.signal_id for ev in events if ev.update])
        result.duplicates += sum(1 for ev in events if ev.update and ev.update.signal_id in gone)
        events = [ev for ev in events if not (ev.update and ev.update.signal_id in gone)]
        new_ids = {
            r[0]
            for r in await (
                await conn.execute(
                    "INSERT INTO processed_events (event_id, processed_at) SELECT unnest(%b::text[]), %s"
                    " ON CONFLICT DO NOTHING RETURNING event_id",
                    ([ev.event_id for ev in events], self.clock.now()),
                )
            ).fetchall()
        }
        fresh: dict[str, list[IncomingEvent]] = defaultdict(list)
        for ev in events:
            if ev.event_id not in new_ids:
                result.duplicates += 1
            elif ev.update is None:
                result.applied += 1
            else:
                fresh[ev.update.pseudonym].append(ev)
        if not fresh:
            return
        pseudonyms = list(fresh)
        involvements: dict[str, dict[str, domain.Involvement]] = defaultdict(dict)
        cur = await conn.execute(
            f"SELECT {_INVOLVEMENT_COLUMNS} FROM involvements WHERE pseudonym = ANY(%s)",  # noqa: S608
            (pseudonyms,),
        )
        for row in await cur.fetchall():
            inv = _involvement(row)
            involvements[inv.pseudonym][inv.signal_id] = inv

        changed: list[domain.Involvement] = []
        touched: list[str] = []
        for pseudonym, evs in fresh.items():
            updates = [ev.update for ev in evs if ev.update is not None]
            new, stale = domain.apply_updates(involvements[pseudonym], updates)
            result.applied += len(updates) - stale
            result.duplicates += stale
            if new:
                changed += new
                touched.append(pseudonym)
        if not changed:
            return
        # One statement for the whole group: arrays per column, unnested on the server.
        await conn.execute(
            "INSERT INTO involvements (signal_id, pseudonym, professional_id, name, role, phone, email,"
            " organisation_id, organisation_name, may_coordinate, domains, registered_at, active, version)"
            " SELECT s, p, pr, n, r, ph, e, o, ona, mc, string_to_array(d, ','), ra, a, v FROM unnest("
            " %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::boolean[], %b::text[], %b::timestamptz[], %b::boolean[], %b::integer[])"
            " AS t(s, p, pr, n, r, ph, e, o, ona, mc, d, ra, a, v)"
            " ON CONFLICT (signal_id) DO UPDATE SET pseudonym = EXCLUDED.pseudonym,"
            " professional_id = EXCLUDED.professional_id, name = EXCLUDED.name, role = EXCLUDED.role,"
            " phone = EXCLUDED.phone, email = EXCLUDED.email, organisation_id = EXCLUDED.organisation_id,"
            " organisation_name = EXCLUDED.organisation_name, may_coordinate = EXCLUDED.may_coordinate,"
            " domains = EXCLUDED.domains, registered_at = EXCLUDED.registered_at,"
            " active = EXCLUDED.active, version = EXCLUDED.version, updated_at = now()"
            " WHERE involvements.version < EXCLUDED.version",
            _columns([_involvement_params(inv) for inv in changed], 14),
        )

        open_matches = await self._open_matches(conn, sorted(touched))
        rules = await self._rules(conn)
        now = self.clock.now()
        decisions: list[tuple[domain.Decision, bool]] = []
        for pseudonym in sorted(touched):
            decision = domain.decide(
                list(involvements[pseudonym].values()),
                open_matches.get(pseudonym),
                rules,
                pseudonym=pseudonym,
                now=now,
                new_match_id=str(uuid.uuid4()),
            )
            bulk = all(ev.bulk for ev in fresh[pseudonym])
            decisions.append((decision, bulk))
        await self._write_decisions(conn, decisions, now)

    async def forget_processed_events(self, older_than: timedelta) -> int:
        """Drop idempotency records past the redelivery window; return how many.

        Safe because signal versions also guard: a very late redelivery carries a version
        that is not newer than the stored one and is ignored all the same.
        """
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM processed_events WHERE processed_at < %s", (self.clock.now() - older_than,)
            )
            return cur.rowcount

    async def park_undeliverable(self, event_id: str, payload: bytes, reason: str) -> None:
        """Keep an event notify refused for good, out of the outbox's way."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO undeliverable_events (event_id, payload, reason) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (event_id, payload, reason),
            )

    # --- matches ------------------------------------------------------------------------

    async def _open_matches(
        self, conn: psycopg.AsyncConnection, pseudonyms: list[str]
    ) -> dict[str, domain.Match]:
        cur = await conn.execute(
            "SELECT match_id, pseudonym, coordinator_professional_id, pending_coordinator_professional_id,"
            " created_at FROM matches WHERE status = 'open' AND pseudonym = ANY(%s)",
            (pseudonyms,),
        )
        heads = await cur.fetchall()
        if not heads:
            return {}
        members = await self._members(conn, [str(h[0]) for h in heads], current_only=True)
        return {
            h[1]: domain.Match(
                match_id=str(h[0]),
                pseudonym=h[1],
                status=domain.MatchStatus.OPEN,
                members=tuple(members.get(str(h[0]), ())),
                coordinator_id=h[2],
                pending_coordinator_id=h[3],
                created_at=h[4],
            )
            for h in heads
        }

    async def _members(
        self, conn: psycopg.AsyncConnection, match_ids: list[str], *, current_only: bool
    ) -> dict[str, list[domain.Member]]:
        cur = await conn.execute(
            "SELECT match_id, professional_id, signal_id, name, role, phone, email, organisation_id,"
            " organisation_name, may_coordinate, domains, registered_at, joined_at FROM match_members"
            " WHERE match_id = ANY(%s::uuid[]) AND (left_at IS NULL OR NOT %s)"
            " ORDER BY registered_at, professional_id",
            (match_ids, current_only),
        )
        out: dict[str, list[domain.Member]] = defaultdict(list)
        for r in await cur.fetchall():
            out[str(r[0])].append(
                domain.Member(
                    contact=domain.Contact(r[1], r[3], r[4], r[5], r[6], r[7], r[8]),
                    signal_id=r[2],
                    may_coordinate=r[9],
                    domains=tuple(r[10]),
                    registered_at=r[11],
                    joined_at=r[12],
                )
            )
        return out

    async def _matches(
        self,
        conn: psycopg.AsyncConnection,
        where: str,
        params: tuple[Any, ...],
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[domain.Match]:
        """Matches selected by a fixed WHERE clause of this module (never user text)."""
        query = sql.SQL(
            "SELECT match_id, pseudonym, status, coordinator_professional_id,"
            " pending_coordinator_professional_id, created_at, closed_at FROM matches m"
            " WHERE {} ORDER BY created_at, match_id LIMIT %s OFFSET %s"
        ).format(sql.SQL(where))
        cur = await conn.execute(query, (*params, limit, offset))
        heads = await cur.fetchall()
        if not heads:
            return []
        open_ids = [str(h[0]) for h in heads if h[2] == "open"]
        closed_ids = [str(h[0]) for h in heads if h[2] != "open"]
        members = await self._members(conn, open_ids, current_only=True)
        # A closed match shows everybody who was ever a member (access requests).
        members.update(await self._members(conn, closed_ids, current_only=False))
        return [
            domain.Match(
                match_id=str(h[0]),
                pseudonym=h[1],
                status=domain.MatchStatus(h[2]),
                members=tuple(members.get(str(h[0]), ())),
                coordinator_id=h[3],
                pending_coordinator_id=h[4],
                created_at=h[5],
                closed_at=h[6],
            )
            for h in heads
        ]

    async def _write_decisions(
        self, conn: psycopg.AsyncConnection, decisions: Iterable[tuple[domain.Decision, bool]], now: datetime
    ) -> None:
        """Persist the changed matches and their events (same transaction)."""
        new_matches: list[tuple[Any, ...]] = []
        updated_matches: list[tuple[Any, ...]] = []
        member_rows: list[tuple[Any, ...]] = []
        leavers: list[tuple[Any, ...]] = []
        entries: list[tuple[str, Sequence[domain.Change], bool]] = []
        direct: list[tuple[str, Sequence[domain.Change], bool]] = []
        for decision, bulk in decisions:
            after = decision.after
            if after is None or not decision.changed:
                continue
            if decision.before is None:
                new_matches.append(
                    (
                        after.match_id,
                        after.pseudonym,
                        after.coordinator_id,
                        after.pending_coordinator_id,
                        after.created_at,
                    )
                )
            else:
                updated_matches.append(
                    (
                        after.status.value,
                        after.coordinator_id,
                        after.pending_coordinator_id,
                        after.closed_at,
                        after.match_id,
                    )
                )
                remaining = {m.professional_id for m in after.members}
                leavers += [
                    (now, after.match_id, m.professional_id)
                    for m in decision.before.members
                    if m.professional_id not in remaining
                ]
            member_rows += [_member_params(after.match_id, m) for m in after.members]
            if not decision.changes:
                continue
            if self.notice_delay and all(c.kind in domain.ENTRY_KINDS for c in decision.changes):
                entries.append((after.match_id, decision.changes, bulk))
            else:
                direct.append((after.match_id, decision.changes, bulk))
        cur = conn.cursor()
        if new_matches:
            await cur.executemany(
                "INSERT INTO matches (match_id, pseudonym, status, coordinator_professional_id,"
                " pending_coordinator_professional_id, created_at) VALUES (%s, %s, 'open', %s, %s, %s)",
                new_matches,
            )
        if updated_matches:
            await cur.executemany(
                "UPDATE matches SET status = %s, coordinator_professional_id = %s,"
                " pending_coordinator_professional_id = %s, closed_at = %s WHERE match_id = %s",
                updated_matches,
            )
        if member_rows:
            await conn.execute(
                "INSERT INTO match_members (match_id, professional_id, signal_id, name, role, phone, email,"
                " organisation_id, organisation_name, may_coordinate, domains, registered_at, joined_at)"
                " SELECT m::uuid, pr, s, n, r, ph, e, o, ona, mc, string_to_array(d, ','), ra, j FROM unnest("
                " %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
                " %b::text[], %b::text[], %b::boolean[], %b::text[], %b::timestamptz[], %b::timestamptz[])"
                " AS t(m, pr, s, n, r, ph, e, o, ona, mc, d, ra, j)"
                " ON CONFLICT (match_id, professional_id) DO UPDATE SET signal_id = EXCLUDED.signal_id,"
                " name = EXCLUDED.name, role = EXCLUDED.role, phone = EXCLUDED.phone, email = EXCLUDED.email,"
                " organisation_id = EXCLUDED.organisation_id, organisation_name = EXCLUDED.organisation_name,"
                " may_coordinate = EXCLUDED.may_coordinate, domains = EXCLUDED.domains,"
                " registered_at = EXCLUDED.registered_at, joined_at = EXCLUDED.joined_at, left_at = NULL",
                _columns(member_rows, 13),
            )
        if leavers:
            await cur.executemany(
                "UPDATE match_members SET left_at = %s WHERE match_id = %s AND professional_id = %s",
                leavers,
            )
        await self._notify(conn, entries, direct, now)

    async def _notify(
        self,
        conn: psycopg.AsyncConnection,
        entries: list[tuple[str, Sequence[domain.Change], bool]],
        direct: list[tuple[str, Sequence[domain.Change], bool]],
        now: datetime,
    ) -> None:
        """Write the MatchEvents of these changes: to the outbox, or merged into a pending notice.

        Every event id is born in the transaction that makes the change: a crash before commit
        leaves no event; after commit it is delivered (with that id) until acknowledged.
        Creation/joining notices may wait in pending_notices; any other change of the same
        match first releases the pending notice, so notify sees the changes in order.
        """
        match_ids = [m for m, _, _ in entries] + [m for m, _, _ in direct]
        pending: dict[str, bytes] = {}
        if match_ids:
            # FOR UPDATE: the flusher skips a notice we are merging into, and we wait for (and
            # then no longer see) a notice the flusher is moving to the outbox.
            cur = await conn.execute(
                "SELECT match_id, payload FROM pending_notices WHERE match_id = ANY(%s::uuid[]) FOR UPDATE",
                (match_ids,),
            )
            pending = {str(r[0]): bytes(r[1]) for r in await cur.fetchall()}
        payloads: list[bytes] = []
        released: list[str] = []
        for match_id, changes, bulk in direct:
            if match_id in pending:
                payloads.append(pending.pop(match_id))
                released.append(match_id)
            payloads += [convert.change_to_event(c, str(uuid.uuid4()), now, bulk) for c in changes]
        merged: list[tuple[bytes, str]] = []
        fresh: list[tuple[str, bytes, datetime]] = []
        for match_id, changes, bulk in entries:
            for change in changes:
                if match_id in pending:
                    pending[match_id] = convert.merge_entry_event(pending[match_id], change, bulk)
                    merged.append((pending[match_id], match_id))
                else:
                    pending[match_id] = convert.change_to_event(change, str(uuid.uuid4()), now, bulk)
                    fresh.append((match_id, pending[match_id], now + self.notice_delay))
        fresh_ids = {m for m, _, _ in fresh}
        cur = conn.cursor()
        if released:
            await cur.execute("DELETE FROM pending_notices WHERE match_id = ANY(%s::uuid[])", (released,))
        if fresh:
            await cur.executemany(
                "INSERT INTO pending_notices (match_id, payload, due_at) VALUES (%s, %s, %s)",
                [(m, pending[m], due) for m, _, due in fresh],
            )
        updates = [(p, m) for p, m in merged if m not in fresh_ids]
        if updates:
            await cur.executemany("UPDATE pending_notices SET payload = %s WHERE match_id = %s", updates)
        await outbox.enqueue_many(conn, [NOTIFY], payloads)

    async def release_due_notices(self, limit: int = 500) -> int:
        """Move pending notices whose window has passed to the outbox; return how many."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT match_id, payload FROM pending_notices WHERE due_at <= %s"
                " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.clock.now(), limit),
            )
            rows = await cur.fetchall()
            if not rows:
                return 0
            await conn.execute(
                "DELETE FROM pending_notices WHERE match_id = ANY(%s::uuid[])", ([str(r[0]) for r in rows],)
            )
            await outbox.enqueue_many(conn, [NOTIFY], [bytes(r[1]) for r in rows])
        return len(rows)

    async def change_match(
        self, match_id: str, action: Callable[[domain.Match | None], domain.Decision]
    ) -> domain.Match:
        """Apply a coordinator action to an open match under the person's lock."""
        mid = parse_match_id(match_id)
        if mid is None:
            raise domain.not_found()
        async with self.pool.connection() as conn, conn.transaction():
            pseudonym = None
            for _attempt in range(3):
                row = await (
                    await conn.execute("SELECT pseudonym FROM matches WHERE match_id = %s", (mid,))
                ).fetchone()
                if row is None:
                    raise domain.not_found()
                if row[0] == pseudonym:
                    break  # locked, and not re-keyed meanwhile (key rotation)
                pseudonym = row[0]
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (person_lock_key(pseudonym),))
            assert pseudonym is not None
            match = (await self._open_matches(conn, [pseudonym])).get(pseudonym)
            if match is not None and match.match_id != mid:
                match = None
            decision = action(match)
            await self._write_decisions(conn, [(decision, False)], self.clock.now())
        assert decision.after is not None
        return decision.after

    # --- reads --------------------------------------------------------------------------

    async def person(self, pseudonym: str) -> tuple[list[domain.Involvement], domain.Match | None]:
        """The person's involvements and their open match (if any)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_INVOLVEMENT_COLUMNS} FROM involvements WHERE pseudonym = %s",  # noqa: S608
                (pseudonym,),
            )
            involvements = [_involvement(r) for r in await cur.fetchall()]
            match = (await self._open_matches(conn, [pseudonym])).get(pseudonym) if involvements else None
        return involvements, match

    async def match_by_id(self, match_id: str) -> tuple[domain.Match | None, list[domain.Involvement]]:
        """An open match and the involvements on its person; (None, []) when unknown or closed."""
        mid = parse_match_id(match_id)
        if mid is None:
            return None, []
        async with self.pool.connection() as conn:
            matches = await self._matches(conn, "m.match_id = %s AND m.status = 'open'", (mid,))
            if not matches:
                return None, []
            cur = await conn.execute(
                f"SELECT {_INVOLVEMENT_COLUMNS} FROM involvements WHERE pseudonym = %s",  # noqa: S608
                (matches[0].pseudonym,),
            )
            return matches[0], [_involvement(r) for r in await cur.fetchall()]

    async def matches_of(self, professional_id: str, limit: int, offset: int) -> list[domain.Match]:
        """Open matches in which the professional is a member with an active signal."""
        async with self.pool.connection() as conn:
            return await self._matches(
                conn,
                "m.status = 'open' AND EXISTS (SELECT 1 FROM match_members mm WHERE mm.match_id = m.match_id"
                " AND mm.professional_id = %s AND mm.left_at IS NULL) AND EXISTS (SELECT 1 FROM involvements i"
                " WHERE i.pseudonym = m.pseudonym AND i.professional_id = %s AND i.active)",
                (professional_id, professional_id),
                limit=limit,
                offset=offset,
            )

    async def matches_on_pseudonym(self, pseudonym: str) -> list[domain.Match]:
        """Every match, open or closed, on one person (access requests)."""
        async with self.pool.connection() as conn:
            return await self._matches(conn, "m.pseudonym = %s", (pseudonym,))

    async def organisation_of(self, professional_id: str) -> str:
        """The organisation of the professional's most recent signal ('' when unknown)."""
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT organisation_id FROM involvements WHERE professional_id = %s"
                    " ORDER BY registered_at DESC LIMIT 1",
                    (professional_id,),
                )
            ).fetchone()
        return row[0] if row else ""

    # --- access log ---------------------------------------------------------------------

    async def log_access(self, records: Sequence[AccessRecord]) -> None:
        if not records:
            return
        async with self.pool.connection() as conn:
            await conn.cursor().executemany(
                "INSERT INTO access_log (professional_id, organisation_id, pseudonym, match_id, purpose,"
                " outcome, trace_id, read_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        r.professional_id,
                        r.organisation_id,
                        r.pseudonym,
                        r.match_id,
                        r.purpose,
                        r.outcome,
                        r.trace_id,
                        r.read_at,
                    )
                    for r in records
                ],
            )

    async def access_log(self, pseudonym: str) -> list[AccessRecord]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT professional_id, organisation_id, pseudonym, match_id, purpose, outcome, trace_id,"
                " read_at FROM access_log WHERE pseudonym = %s ORDER BY read_at, id",
                (pseudonym,),
            )
            return [AccessRecord(*r) for r in await cur.fetchall()]

    # --- coordinator rules --------------------------------------------------------------

    async def _rules(self, conn: psycopg.AsyncConnection) -> domain.CoordinatorRules:
        row = await (
            await conn.execute(
                "SELECT organisation_priority, domain_priority, version, created_at, created_by"
                " FROM coordinator_rules ORDER BY version DESC LIMIT 1"
            )
        ).fetchone()
        if row is None:
            return domain.CoordinatorRules()
        return domain.CoordinatorRules(tuple(row[0]), tuple(row[1]), row[2], row[3], row[4])

    async def rules(self) -> domain.CoordinatorRules:
        async with self.pool.connection() as conn:
            return await self._rules(conn)

    async def set_rules(
        self, organisation_priority: Sequence[str], domain_priority: Sequence[str], admin_id: str
    ) -> domain.CoordinatorRules:
        """Store a new version of the rules (versions never change once written)."""
        async with self.pool.connection() as conn, conn.transaction():
            # Serialise writers so that versions are consecutive.
            await conn.execute("LOCK TABLE coordinator_rules IN EXCLUSIVE MODE")
            row = await (
                await conn.execute(
                    "INSERT INTO coordinator_rules (version, organisation_priority, domain_priority, created_at,"
                    " created_by) SELECT COALESCE(MAX(version), 0) + 1, %s, %s, %s, %s FROM coordinator_rules"
                    " RETURNING version, created_at",
                    (list(organisation_priority), list(domain_priority), self.clock.now(), admin_id),
                )
            ).fetchone()
        assert row is not None
        return domain.CoordinatorRules(
            tuple(organisation_priority), tuple(domain_priority), row[0], row[1], admin_id
        )
