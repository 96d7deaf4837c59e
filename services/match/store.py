"""All SQL of the match service: involvements, matches, members, rules, access log, outbox.

Every change to one person's data happens under a transaction-scoped advisory lock on a
hash of their pseudonym, so concurrent signal events (from several signal replicas, or
redeliveries) are serialised per person and create exactly one match with one coordinator.
The unique partial index `matches_one_open_per_person` is the second line of defence.
"""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sluis.federation.v1 import federation_pb2 as fpb
from sluis.types.v1 import processing_log_pb2 as lpb

from services.common import outbox, processing_log, telemetry
from services.common.clock import Clock
from services.common.processing_log import Line
from services.match import (
    coordination,
    domain,
    erasure,
    family_store,
    federation,
    federation_store,
    logbook,
    notices,
    rows,
    subjects,
    transfers,
)
from services.match.notices import Notices

# Persons per transaction when applying a batch: a batch of 500 events is normally one
# transaction (few round trips); the locks are per person, so only events of the same people wait.
PERSONS_PER_TRANSACTION = 500


def person_lock_key(pseudonym: str) -> int:
    """A signed 64-bit advisory lock key for one person."""
    return int.from_bytes(hashlib.blake2b(pseudonym.encode(), digest_size=8).digest(), "big", signed=True)


def _required(match: domain.Match | None) -> domain.Match:
    """The open match, or the NotFound of an unknown one (closed since it was selected)."""
    if match is None:
        raise domain.not_found()
    return match


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


class MatchStore:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        clock: Clock,
        notice_delay: timedelta = timedelta(0),
        policy: domain.CoordinationPolicy = domain.PLAIN_POLICY,
        *,
        families: bool = True,
        peering: federation.Peering | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.notices = Notices(notice_delay)
        # Family matches (issue 18), per region: SLUIS_MATCH_FAMILY_MATCHES. Off: open family
        # matches still follow their signals (members leave, they close); none is created.
        self.families = families
        self.policy = policy
        # Cross-region matches (issue 19): None when this region has no peers.
        self.federation = (
            federation_store.Federation(peering, self.notices)
            if peering is not None and peering.enabled
            else None
        )

    # --- key rotation (services/common/rekey.py RekeyableStore) --------------------------

    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        """Up to `limit` distinct pseudonyms still under key `version`, in any table."""
        pattern = f"{version}.%"
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT pseudonym FROM (SELECT pseudonym FROM involvements WHERE pseudonym LIKE %(p)s"
                    " UNION SELECT p FROM involvements, unnest(parent_pseudonyms) AS p WHERE p LIKE %(p)s"
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
                    " + (SELECT count(*) FROM involvements, unnest(parent_pseudonyms) AS p WHERE p LIKE %(p)s)"
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
        for table in ("involvements", "matches", "access_log", "federation_sent", "federation_peers"):
            cur = await conn.execute(
                sql.SQL(
                    "UPDATE {} t SET pseudonym = m.new FROM unnest(%s::text[], %s::text[]) AS m(old, new)"
                    " WHERE t.pseudonym = m.old"
                ).format(sql.Identifier(table)),
                (olds, news),
            )
            changed += cur.rowcount
        # Family matches: the parents' pseudonyms on a child's involvement follow too.
        cur = await conn.execute(
            "UPDATE involvements i SET parent_pseudonyms = ARRAY(SELECT coalesce(m.new, x.p) FROM"
            " unnest(i.parent_pseudonyms) WITH ORDINALITY AS x(p, n) LEFT JOIN unnest(%s::text[], %s::text[])"
            " AS m(old, new) ON m.old = x.p ORDER BY x.n) WHERE i.signal_id IN"
            " (SELECT signal_id FROM involvement_parents WHERE parent_pseudonym = ANY(%s::text[]))",
            (olds, news, olds),
        )
        # The processing log is never altered: the new tag is linked to the old one instead.
        await processing_log.link_rekeyed(conn, mapping)
        return changed + cur.rowcount

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
                await self._apply_group(conn, group, by_person, result, previous or {})
        return result

    async def _apply_group(
        self,
        conn: psycopg.AsyncConnection,
        persons: list[str],
        by_person: dict[str, list[IncomingEvent]],
        result: ApplyResult,
        previous: dict[str, str],
    ) -> None:
        """One transaction for a group of persons: lock and load, decide (domain), persist."""
        await self._lock_persons(conn, persons, previous)
        fresh = await self._fresh_updates(conn, [ev for p in persons for ev in by_person[p]], result)
        if not fresh:
            return
        pseudonyms = sorted(p.pseudonym for p in fresh)
        updates = [u for p in fresh for u in p.updates]
        # Transferred signals: the coordinator role follows the colleague before the rules run
        # (transfers.py), so rule 1 keeps it there instead of choosing a successor.
        await transfers.hand_over_role(conn, updates)
        involvements = await rows.load_involvements(conn, pseudonyms)
        open_matches = await rows.open_matches(conn, pseudonyms)
        rules = await self._rules(conn)
        now = self.clock.now()
        outcome = domain.decide_group(
            fresh,
            involvements,
            open_matches,
            rules,
            now=now,
            new_match_id=lambda: str(uuid.uuid4()),
            policy=self.policy,
        )
        result.applied += outcome.applied
        result.duplicates += outcome.stale
        if outcome.changed:
            await rows.upsert_involvements(conn, outcome.changed)
            await rows.write_decisions(conn, outcome.decisions, now, self.notices)
            await processing_log.write(
                conn, logbook.RESOURCE, logbook.decision_lines(d for d, _ in outcome.decisions), now
            )
            await family_store.after_changes(conn, outcome.changed, rules, now, self.notices, self.families)
        if self.federation is not None and outcome.changed:
            # Peers hear of it in the same transaction (their outbox rows), and the
            # cross-region match follows.
            erased = {u.pseudonym for u in updates if u.change is domain.SignalChange.DELETED}
            touched = sorted({inv.pseudonym for inv in outcome.changed})
            await self.federation.after_local_changes(conn, touched, erased, rules, now)
        # Deleted signals: after the rules ran (member left, role moved on, match closed), every
        # copy goes in this transaction under the same locks (erasure.py).
        await erasure.erase_signals(conn, erasure.erased_ids(updates), now)

    async def _lock_persons(
        self, conn: psycopg.AsyncConnection, persons: list[str], previous: dict[str, str]
    ) -> None:
        """Take the persons' locks, in one fixed (hash) order so two transactions never wait on
        each other in a cycle; convert rows of persons still under the old key (rotation)."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
            ([person_lock_key(p) for p in persons],),
        )
        rotating = {previous[p]: p for p in persons if p in previous and previous[p] != p}
        if rotating:
            await self._convert(conn, rotating)

    async def _fresh_updates(
        self, conn: psycopg.AsyncConnection, events: list[IncomingEvent], result: ApplyResult
    ) -> list[domain.PersonUpdates]:
        """Record the events as processed; the updates of those not seen before, per person."""
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
        return [
            domain.PersonUpdates(
                pseudonym,
                tuple(ev.update for ev in evs if ev.update is not None),
                all(ev.bulk for ev in evs),
            )
            for pseudonym, evs in fresh.items()
        ]

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

    # --- cross-region matches (federation_store.py) ---------------------------------------

    async def drain_federation_inbox(
        self, translate: Callable[[str, list[str]], Awaitable[list[str]]], limit: int = 200
    ) -> int:
        """Decide on events peers sent (federation_inbox); return how many were taken.

        `translate(region, tokens)` turns the pair's exchange tokens into this region's
        pseudonyms (identity). One transaction per batch, under the persons' locks.
        """
        assert self.federation is not None
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT id, event_id, from_region, payload, traceparent, peer_uri FROM federation_inbox"
                " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (limit,),
            )
            taken = await cur.fetchall()
            if not taken:
                return 0
            events = [(r[1], r[2], fpb.PeerEvent.FromString(bytes(r[3])), r[4], r[5]) for r in taken]
            pseudonyms: list[str] = [""] * len(events)
            for region in sorted({e[1] for e in events}):
                idx = [i for i, e in enumerate(events) if e[1] == region]
                for i, p in zip(
                    idx, await translate(region, [events[i][2].exchange_token for i in idx]), strict=True
                ):
                    pseudonyms[i] = p
            await conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
                (sorted({person_lock_key(p) for p in pseudonyms}),),
            )
            rules, now = await self._rules(conn), self.clock.now()
            for (event_id, region, event, traceparent, peer_uri), pseudonym in zip(
                events, pseudonyms, strict=True
            ):
                fresh = await (
                    await conn.execute(
                        "INSERT INTO federation_processed (event_id, from_region, processed_at)"
                        " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING event_id",
                        (event_id, region, now),
                    )
                ).fetchone()
                if fresh is None or not pseudonym:
                    continue  # a redelivery (applied before), or a malformed token
                with telemetry.continue_trace("match federation event", (traceparent, "")):
                    foreign = processing_log.foreign_from_traceparent(traceparent, f"grpcs://{peer_uri}")
                    await self.federation.apply_peer_event(
                        conn, region, pseudonym, event, foreign, peer_uri, rules, now
                    )
            await conn.execute("DELETE FROM federation_inbox WHERE id = ANY(%s)", ([r[0] for r in taken],))
        return len(taken)

    async def moved_out(self, moves: Sequence[tuple[str, str]]) -> None:
        """People who moved out of the region (pseudonym, new municipality): peers that have
        them too are told (one transaction per person, under their lock)."""
        assert self.federation is not None
        for pseudonym, code in dict.fromkeys(moves):
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (person_lock_key(pseudonym),))
                await self.federation.moved_out(conn, pseudonym, code, self.clock.now())

    # --- matches ------------------------------------------------------------------------

    async def release_due_notices(self, limit: int = 500) -> int:
        """Move pending notices whose window has passed to the outbox; return how many."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT match_id, payload, traceparent, tracestate FROM pending_notices WHERE due_at <= %s"
                " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.clock.now(), limit),
            )
            due = await cur.fetchall()
            if not due:
                return 0
            await conn.execute(
                "DELETE FROM pending_notices WHERE match_id = ANY(%s::uuid[])", ([str(r[0]) for r in due],)
            )
            await outbox.enqueue_many(
                conn, [notices.NOTIFY], [bytes(r[1]) for r in due], [(r[2], r[3]) for r in due]
            )
        return len(due)

    async def change_match(
        self,
        match_id: str,
        action: Callable[[domain.Match | None, domain.CoordinatorRules], domain.Decision],
        log_lines: Callable[[domain.Match], Sequence[Line]] = lambda m: (),
    ) -> domain.Match:
        """Apply a coordinator action (given the match and the region's rules) to an open match
        under the person's lock; its log lines (the action's own and the role changes) in the
        same transaction."""
        mid = parse_match_id(match_id)
        if mid is None:
            raise domain.not_found()
        async with self.pool.connection() as conn, conn.transaction():
            pseudonym = None
            kind = "person"
            for _attempt in range(3):
                row = await (
                    await conn.execute("SELECT pseudonym, kind FROM matches WHERE match_id = %s", (mid,))
                ).fetchone()
                if row is None:
                    raise domain.not_found()
                if row[0] == pseudonym:
                    break  # locked, and not re-keyed meanwhile (key rotation)
                pseudonym, kind = row[0], row[1]
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (person_lock_key(pseudonym),))
            assert pseudonym is not None
            if kind != "person":
                await family_store.lock(conn)
            match = (await rows.open_matches(conn, [pseudonym], kind=kind)).get(pseudonym)
            if match is not None and match.match_id != mid:
                match = None
            decision = action(match, await self._rules(conn))
            now = self.clock.now()
            await rows.write_decisions(conn, [(decision, False)], now, self.notices)
            assert decision.after is not None
            lines = [*log_lines(decision.after), *logbook.decision_lines([decision])]
            about = await subjects.of_decisions(conn, [decision])
            await processing_log.write(conn, logbook.RESOURCE, logbook.per_person(lines, about), now)
        return decision.after

    async def refresh_families(self, batch: int = 500) -> int:
        """Re-decide every open family match (a child who turned 18 leaves); changed matches.

        Batched, one short transaction per batch; idempotent; run by the daily job or
        RefreshFamilies (injected clock in tests).
        """
        changed, after = 0, ""
        while True:
            async with self.pool.connection() as conn, conn.transaction():
                anchors = await family_store.open_anchors(conn, after, batch)
                if not anchors:
                    return changed
                after = anchors[-1]
                changed += await family_store.decide(
                    conn, anchors, await self._rules(conn), self.clock.now(), self.notices, self.families
                )

    async def expire_coordination(self, limit: int = 100) -> int:
        """Timeouts of take-over requests and succession offers that are due; return how many."""
        now = self.clock.now()
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT match_id FROM matches WHERE status = 'open'"
                " AND (takeover_due_at <= %s OR offer_due_at <= %s) ORDER BY match_id LIMIT %s",
                (now, now, limit),
            )
            due = [str(r[0]) for r in await cur.fetchall()]
        for match_id in due:
            try:
                await self.change_match(match_id, lambda m, _rules: coordination.expire(_required(m), now))
            except domain.NotFound:
                continue  # closed meanwhile
        return len(due)

    async def set_organisation_may_coordinate(self, organisation_id: str, may_coordinate: bool) -> int:
        """An organisation's profile changed: its involvements and open matches carry the new
        flag, and a coordinator role it may no longer hold goes on; return how many moved."""
        now = self.clock.now()
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE involvements SET may_coordinate = %s, updated_at = now() WHERE organisation_id = %s",
                (may_coordinate, organisation_id),
            )
            cur = await conn.execute(
                "SELECT DISTINCT m.match_id FROM matches m JOIN match_members mm ON mm.match_id = m.match_id"
                " WHERE m.status = 'open' AND mm.left_at IS NULL AND mm.organisation_id = %s"
                " ORDER BY m.match_id",
                (organisation_id,),
            )
            affected = [str(r[0]) for r in await cur.fetchall()]
        moved = 0
        for match_id in affected:

            def action(m: domain.Match | None, rules: domain.CoordinatorRules) -> domain.Decision:
                return coordination.organisation_profile_changed(
                    _required(m), organisation_id, may_coordinate, rules, self.policy, now
                )

            try:
                before = (await self.match_by_id(match_id))[0]
                after = await self.change_match(match_id, action)
            except domain.NotFound:
                continue
            moved += before is not None and before.coordinator_id != after.coordinator_id
        return moved

    # --- reads --------------------------------------------------------------------------

    async def person(self, pseudonym: str) -> tuple[list[domain.Involvement], domain.Match | None]:
        """The person's involvements and their open match (if any)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {rows.INVOLVEMENT_COLUMNS} FROM involvements WHERE pseudonym = %s",  # noqa: S608
                (pseudonym,),
            )
            involvements = [rows.involvement_from_row(r) for r in await cur.fetchall()]
            match = (await rows.open_matches(conn, [pseudonym])).get(pseudonym) if involvements else None
        return involvements, match

    async def match_by_id(self, match_id: str) -> tuple[domain.Match | None, list[domain.Involvement]]:
        """An open match and the involvements on its person; (None, []) when unknown or closed."""
        mid = parse_match_id(match_id)
        if mid is None:
            return None, []
        async with self.pool.connection() as conn:
            matches = await rows.select_matches(conn, "m.match_id = %s AND m.status = 'open'", (mid,))
            if not matches:
                return None, []
            if matches[0].kind == "family":
                return matches[0], await family_store.match_involvements(conn, matches[0], self.clock.now())
            cur = await conn.execute(
                f"SELECT {rows.INVOLVEMENT_COLUMNS} FROM involvements WHERE pseudonym = %s",  # noqa: S608
                (matches[0].pseudonym,),
            )
            return matches[0], [rows.involvement_from_row(r) for r in await cur.fetchall()]

    async def matches_of(
        self, professional_id: str, limit: int, offset: int, signal_id: str = ""
    ) -> list[domain.Match]:
        """Open matches in which the professional is a member with an active signal; with
        `signal_id` only the one in which they take part through that signal."""
        async with self.pool.connection() as conn:
            return await rows.select_matches(
                conn,
                "m.status = 'open' AND EXISTS (SELECT 1 FROM match_members mm WHERE mm.match_id = m.match_id"
                " AND mm.professional_id = %s AND mm.left_at IS NULL AND (%s = '' OR mm.signal_id = %s))"
                " AND EXISTS (SELECT 1 FROM involvements i"
                " WHERE i.professional_id = %s AND i.active AND (i.pseudonym = m.pseudonym"
                # A family match (its pseudonym is the parent): a signal on one of its members.
                " OR (m.kind = 'family' AND i.signal_id IN (SELECT signal_id FROM match_members f"
                " WHERE f.match_id = m.match_id AND f.left_at IS NULL))))",
                (professional_id, signal_id, signal_id, professional_id),
                limit=limit,
                offset=offset,
            )

    async def matches_on_pseudonym(self, pseudonym: str) -> list[domain.Match]:
        """Every match, open or closed, on one person (access requests)."""
        async with self.pool.connection() as conn:
            # A family match is about each family member too (subjects.py).
            return await rows.select_matches(
                conn,
                "m.pseudonym = %s OR (m.kind = 'family' AND EXISTS (SELECT 1 FROM match_members f"
                " JOIN involvements i ON i.signal_id = f.signal_id WHERE f.match_id = m.match_id"
                " AND i.pseudonym = %s))",
                (pseudonym, pseudonym),
            )

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

    # --- processing log ------------------------------------------------------------------

    async def log_lines(self, lines: Sequence[Line], matches: Sequence[domain.Match] = ()) -> None:
        """Lines of a read: written before the answer leaves, so no disclosure goes unlogged.
        Lines about one of `matches` are written for every person it is about (family)."""
        async with self.pool.connection() as conn:
            about = await subjects.of_matches(conn, matches)
            await processing_log.write(
                conn, logbook.RESOURCE, logbook.per_person(lines, about), self.clock.now()
            )

    async def anomalies(self, since: datetime) -> list[lpb.Anomaly]:
        async with self.pool.connection() as conn:
            return await processing_log.anomalies(conn, "match", since)

    async def processing_log(self, pseudonym: str) -> list[processing_log.pb.ProcessingLogLine]:
        async with self.pool.connection() as conn:
            return await processing_log.read(conn, pseudonym)

    async def subject_tags(self, pseudonym: str) -> list[bytes]:
        """The person's log tags, earlier keys' included (notify and the gateway read by them)."""
        async with self.pool.connection() as conn:
            return await processing_log.known_tags(conn, pseudonym)

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

    async def rule_versions(self) -> list[domain.CoordinatorRules]:
        """Every version of the rules, newest first (versions are never changed or removed)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT organisation_priority, domain_priority, version, created_at, created_by"
                " FROM coordinator_rules ORDER BY version DESC"
            )
            return [
                domain.CoordinatorRules(tuple(r[0]), tuple(r[1]), r[2], r[3], r[4])
                for r in await cur.fetchall()
            ]

    async def open_matches(self) -> list[domain.Match]:
        """Every open match with its current members (the rule preview)."""
        async with self.pool.connection() as conn:
            return await rows.select_matches(conn, "m.status = 'open'", ())

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
