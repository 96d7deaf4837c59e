"""All SQL of the signal service: signals and their outbox events, always in one transaction.

Every change writes its SignalEvents to the outbox in the same transaction as the change,
so match and notify learn about exactly the changes that were committed. The lifecycle job
works in short batches (FOR UPDATE SKIP LOCKED) so it never holds a long transaction and
never blocks a registration for longer than one batch.

Over 500 lines on purpose: this is the one module with the signal service's SQL (the house
shape), and its parts share the column lists and the outbox COPY path; the events it writes
are built in convert.py and its decisions made in domain.py.
"""

import asyncio
import dataclasses
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg
from google.protobuf.timestamp_pb2 import Timestamp
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sluis.signal.v1 import signal_pb2 as pb
from sluis.types.v1 import processing_log_pb2 as lpb

from services.common import outbox, processing_log, telemetry
from services.common.contacts import contact_from_row
from services.common.errors import AlreadyExists
from services.common.processing_log import Line
from services.signal import convert, domain, logbook, objections

MATCH = "match"
NOTIFY = "notify"

_COLUMNS = (
    "signal_id",
    "pseudonym",
    "birth_date",
    "professional_id",
    "contact_name",
    "contact_role",
    "contact_phone",
    "contact_email",
    "organisation_id",
    "organisation_name",
    "legal_basis",
    "legal_ground",
    "domains",
    "may_coordinate",
    "informed_party",
    "informed_method",
    "informed_on",
    "postpone_reason",
    "multi_problem_attested",
    "consent_given",
    "status",
    "end_reason",
    "registered_at",
    "active_until",
    "ended_at",
    "delete_after",
    "version",
    # issue 22: consent by profile, informing per party
    "consent_by",
    "under_guardianship",
    "representative_reason",
    "person_method",
    "person_informed_on",
    "person_postpone_reason",
    "representative_method",
    "representative_informed_on",
    "representative_postpone_reason",
    "municipality_code",
    # issue 16: restriction of processing (AVG art. 18)
    "restricted",
    "client_reference",  # issue 17
    "parent_pseudonyms",
)
# Column lists composed once, as identifiers (never values), for every query below.
_SELECT = sql.SQL(", ").join(sql.Identifier(c) for c in _COLUMNS)
_VALUES = sql.SQL(", ").join(sql.Placeholder() for _ in _COLUMNS)
# What an event needs (convert.event_from_row): the lifecycle job returns only these.
_EVENT_COLUMNS = (
    "signal_id",
    "version",
    "pseudonym",
    "professional_id",
    "contact_name",
    "contact_role",
    "contact_phone",
    "contact_email",
    "organisation_id",
    "organisation_name",
    "may_coordinate",
    "domains",
    "registered_at",
    "active_until",
    "end_reason",
    "birth_date",
    "parent_pseudonyms",
)
_EVENT_RETURNING = sql.SQL(", ").join(sql.Identifier("s", c) for c in _EVENT_COLUMNS)


@functools.cache
def _q(text: str) -> str:
    """A query with {cols}, {values} and {event_returning} filled in from the column lists.

    Composed once per query text into plain SQL (issue 21): a `Composed` query would quote
    its 40 identifiers again on every execute, a measurable share of a registration.
    """
    return sql.SQL(text).format(cols=_SELECT, values=_VALUES, event_returning=_EVENT_RETURNING).as_string()


# A new active signal and its outbox events in one statement: the events only when the
# signal was inserted (ON CONFLICT: an active signal of this professional exists already).
_INSERT_WITH_EVENTS = _q(
    "WITH inserted AS ("
    " INSERT INTO signals ({cols}) VALUES ({values})"
    " ON CONFLICT (professional_id, pseudonym) WHERE status = 'active' DO NOTHING"
    " RETURNING signal_id),"
    " events AS (INSERT INTO outbox (destination, payload, traceparent, tracestate)"
    " SELECT e.destination, e.payload, %s, %s"
    " FROM unnest(%b::text[], %b::bytea[]) WITH ORDINALITY AS e(destination, payload, n)"
    " WHERE EXISTS (SELECT FROM inserted) ORDER BY e.n)"
    " SELECT signal_id FROM inserted"
)

SIGNAL_EXISTS_DETAIL = "U heeft al een actief signaal op deze persoon."


def signal_exists(existing_signal_id: str) -> AlreadyExists:
    return AlreadyExists("signal_exists", SIGNAL_EXISTS_DETAIL, existing_signal_id=existing_signal_id)


Event = tuple[Sequence[str], bytes]


@dataclasses.dataclass(frozen=True)
class Change:
    """What a decision about one signal does: the signal afterwards (None: deleted), events."""

    signal: domain.Signal | None
    events: list[Event]
    # An upheld objection: (objection id, organisation id, pseudonym, upheld at) to block.
    block: tuple[str, str, str, datetime] | None = None
    # The informing columns changed too (a postponed party completed).
    informing_changed: bool = False


@dataclasses.dataclass
class LifecycleCounts:
    reminded: int = 0
    expired: int = 0
    purged: int = 0
    aged_out: int = 0
    age_reminded: int = 0
    informing_reminded: int = 0


def _row_values(s: domain.Signal) -> tuple[Any, ...]:
    c, o, i = s.professional, s.organisation, s.informed
    return (
        uuid.UUID(s.signal_id),
        s.pseudonym,
        s.birth_date,
        c.professional_id,
        c.name,
        c.role,
        c.phone,
        c.email,
        o.organisation_id,
        o.name,
        o.legal_basis.value,
        o.legal_ground,
        list(o.domains),
        o.may_coordinate,
        i.party.value if i.party else None,
        i.method.value if i.method else None,
        i.informed_on,
        i.postpone_reason.value if i.postpone_reason else None,
        s.multi_problem_attested,
        s.consent_given,
        s.status.value,
        s.end_reason.value if s.end_reason else None,
        s.registered_at,
        s.active_until,
        s.ended_at,
        s.delete_after,
        s.version,
        *_consent_and_informing_values(s),
        s.municipality_code or None,
        s.restricted,
        s.client_reference or None,
        list(s.parent_pseudonyms),
    )


def _code(value: StrEnum | None) -> str | None:
    return value.value if value is not None else None


def _party_values(p: domain.PartyInforming | None) -> tuple[Any, ...]:
    if p is None:
        return (None, None, None)
    return (_code(p.method), p.informed_on, _code(p.postpone_reason))


def _consent_and_informing_values(s: domain.Signal) -> tuple[Any, ...]:
    i = s.informed
    return (
        _code(s.consent_by),
        s.under_guardianship,
        _code(i.representative_reason),
        *_party_values(i.person),
        *_party_values(i.representative),
    )


_INFORMING_UPDATE = (
    "UPDATE signals SET representative_reason = %s, person_method = %s, person_informed_on = %s,"
    " person_postpone_reason = %s, representative_method = %s, representative_informed_on = %s,"
    " representative_postpone_reason = %s,"
    # The summary columns follow the per-party record (see migration 005).
    " informed_method = %s, informed_on = %s, postpone_reason = %s"
    " WHERE signal_id = %s"
)


def _party(row: dict[str, Any], prefix: str) -> domain.PartyInforming:
    method, on, postpone = (
        row[f"{prefix}_method"],
        row[f"{prefix}_informed_on"],
        row[f"{prefix}_postpone_reason"],
    )
    return domain.PartyInforming(
        method=domain.InformedMethod(method) if method else None,
        informed_on=on,
        postpone_reason=domain.PostponeReason(postpone) if postpone else None,
    )


def _informed(row: dict[str, Any]) -> domain.Informed:
    party = domain.InformedParty(row["informed_party"])
    reason = row["representative_reason"]
    return domain.Informed(
        person=_party(row, "person") if party is not domain.InformedParty.LEGAL_REPRESENTATIVE else None,
        representative=_party(row, "representative") if party is not domain.InformedParty.PERSON else None,
        representative_reason=domain.RepresentativeReason(reason) if reason else None,
    )


def _signal(row: dict[str, Any]) -> domain.Signal:
    return domain.Signal(
        signal_id=str(row["signal_id"]),
        pseudonym=row["pseudonym"],
        birth_date=row["birth_date"],
        professional=contact_from_row(row, convert.CONTACT_COLUMNS),
        organisation=domain.Organisation(
            organisation_id=row["organisation_id"],
            name=row["organisation_name"],
            legal_basis=domain.LegalBasis(row["legal_basis"]),
            legal_ground=row["legal_ground"],
            domains=tuple(row["domains"]),
            may_coordinate=row["may_coordinate"],
        ),
        informed=_informed(row),
        multi_problem_attested=row["multi_problem_attested"],
        consent_given=row["consent_given"],
        status=domain.Status(row["status"]),
        end_reason=domain.EndReason(row["end_reason"]) if row["end_reason"] else None,
        registered_at=row["registered_at"],
        active_until=row["active_until"],
        ended_at=row["ended_at"],
        delete_after=row["delete_after"],
        version=row["version"],
        consent_by=domain.ConsentBy(row["consent_by"]) if row["consent_by"] else None,
        under_guardianship=row["under_guardianship"],
        municipality_code=row["municipality_code"] or "",
        restricted=row["restricted"],
        client_reference=row["client_reference"] or "",
        parent_pseudonyms=tuple(row["parent_pseudonyms"]),
    )


def outbox_copy_data(events: Iterable[Event]) -> bytes:
    """Outbox rows in COPY text format: one line per (destination, payload), with the trace
    context of the current span (the request or batch that writes them).

    Formatting the lines by hand (payload as \\x-hex) is several times faster than
    adapting row by row, which matters for lifecycle batches and bulk loads.
    """
    parent, state = (v.replace("\\", "\\\\") for v in telemetry.current_traceparent())
    lines: list[str] = []
    for destinations, payload in events:
        hexed = payload.hex()
        for destination in destinations:
            lines.append(f"{destination}\t\\\\x{hexed}\t{parent}\t{state}\n")
    return "".join(lines).encode()


async def _enqueue_copy(conn: psycopg.AsyncConnection[Any], data: bytes) -> None:
    """Many outbox rows at once with COPY (bulk intake, lifecycle batches)."""
    if not data:
        return
    copy_sql = "COPY outbox (destination, payload, traceparent, tracestate) FROM STDIN"
    async with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        await copy.write(data)
    await conn.execute(f"NOTIFY {outbox.CHANNEL}")


RowEvents = Callable[[dict[str, Any], Timestamp], list[Event]]


def _events_for(rows: list[dict[str, Any]], make_events: RowEvents, occurred_at: Timestamp) -> bytes:
    return outbox_copy_data(e for row in rows for e in make_events(row, occurred_at))


async def _convert(conn: psycopg.AsyncConnection[Any], mapping: dict[str, str]) -> int:
    """Key rotation: give the people in `mapping` (old -> new pseudonym) their new pseudonym.

    Signal has no per-person lock: the one rule across a person's rows, one active signal per
    professional, is the unique index, and a conversion is a row update. Locking the rows in
    signal_id order first keeps concurrent conversions (the rekeyer's batches, registrations
    of the same people) from deadlocking; the second one finds the rows already converted.
    """
    if not mapping:
        return 0
    olds = sorted(mapping)
    news = [mapping[o] for o in olds]
    await conn.execute(
        "SELECT 1 FROM signals WHERE pseudonym = ANY(%s::text[]) ORDER BY signal_id FOR UPDATE", (olds,)
    )
    cur = await conn.execute(
        "UPDATE signals s SET pseudonym = m.new FROM unnest(%s::text[], %s::text[]) AS m(old, new)"
        " WHERE s.pseudonym = m.old",
        (olds, news),
    )
    # Family matches: a person's parents' pseudonyms follow the rotation too.
    await conn.execute(
        "UPDATE signals s SET parent_pseudonyms = ARRAY(SELECT coalesce(m.new, p) FROM unnest("
        "s.parent_pseudonyms) WITH ORDINALITY AS x(p, i) LEFT JOIN unnest(%s::text[], %s::text[]) AS m(old, new)"
        " ON m.old = x.p ORDER BY x.i) WHERE s.parent_pseudonyms && %s::text[]",
        (olds, news, olds),
    )
    await conn.execute(
        "UPDATE objection_blocks b SET pseudonym = m.new FROM unnest(%s::text[], %s::text[]) AS m(old, new)"
        " WHERE b.pseudonym = m.old",
        (olds, news),
    )
    # The processing log is never altered: the new tag is linked to the old one instead.
    await processing_log.link_rekeyed(conn, mapping)
    return cur.rowcount


class SignalStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    # --- key rotation (services/common/rekey.py RekeyableStore) --------------------------

    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        """Up to `limit` distinct pseudonyms still under key `version`."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT pseudonym FROM signals WHERE pseudonym LIKE %(p)s"
                    " UNION SELECT pseudonym FROM objection_blocks WHERE pseudonym LIKE %(p)s LIMIT %(n)s",
                    {"p": f"{version}.%", "n": limit},
                )
            ).fetchall()
        return [r[0] for r in rows]

    async def replace(self, mapping: dict[str, str]) -> int:
        """Replace old by new pseudonyms in one short transaction; return the rows changed."""
        async with self.pool.connection() as conn, conn.transaction():
            return await _convert(conn, mapping)

    async def count_version(self, version: int) -> int:
        """Rows still under key `version` (operator progress)."""
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT (SELECT count(*) FROM signals WHERE pseudonym LIKE %(p)s)"
                    " + (SELECT count(*) FROM objection_blocks WHERE pseudonym LIKE %(p)s)",
                    {"p": f"{version}.%"},
                )
            ).fetchone()
        return int(row[0]) if row else 0

    async def outbox_pending(self) -> int:
        """Events not yet delivered (operator check before finishing a key rotation)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
        return int(row[0]) if row else 0

    # --- signals ------------------------------------------------------------------------

    async def register(self, signal: domain.Signal, events: list[Event], previous: str | None = None) -> None:
        """Store a new active signal and its events; AlreadyExists when one is active already.

        `previous`: during a key rotation, the person's pseudonym under the old key; their
        rows are converted first, so an old active signal of the same professional blocks.
        """
        # Pipelined (issue 21): BEGIN, the insert with its outbox rows (one statement), NOTIFY
        # and the objection check travel together, COMMIT follows: two round trips in all.
        # Another insert in the same transaction (e.g. a processing-log line) joins the pipeline.
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            if previous is not None and previous != signal.pseudonym:
                await _convert(conn, {previous: signal.pseudonym})
            parent, state = telemetry.current_traceparent()
            destinations = [d for dests, _ in events for d in dests]
            payloads = [payload for dests, payload in events for _ in dests]
            inserting = await conn.execute(
                _INSERT_WITH_EVENTS,
                (*_row_values(signal), parent, state, destinations, payloads),
                prepare=True,
            )
            await conn.execute(f"NOTIFY {outbox.CHANNEL}")
            person = (signal.organisation.organisation_id, signal.pseudonym)
            if block := (await objections.check_not_blocked(conn, [person])).get(person):
                raise objections.blocked(block)  # the insert is rolled back
            line = logbook.registered([signal], "single")
            if await inserting.fetchone() is not None:
                await processing_log.write(conn, logbook.RESOURCE, line)
                return
            for _attempt in range(3):
                existing = await self._active_id(conn, signal.professional.professional_id, signal.pseudonym)
                if existing is not None:
                    raise signal_exists(existing)
                # The blocking signal ended between the two statements: try again.
                inserted = await (
                    await conn.execute(
                        _INSERT_WITH_EVENTS, (*_row_values(signal), parent, state, destinations, payloads)
                    )
                ).fetchone()
                if inserted is not None:
                    await processing_log.write(conn, logbook.RESOURCE, line)
                    return
            raise signal_exists("")

    async def _active_id(
        self, conn: psycopg.AsyncConnection[Any], professional_id: str, pseudonym: str
    ) -> str | None:
        row = await (
            await conn.execute(
                "SELECT signal_id FROM signals WHERE professional_id = %s AND pseudonym = %s AND status = 'active'",
                (professional_id, pseudonym),
            )
        ).fetchone()
        return str(row[0]) if row else None

    async def register_many(
        self,
        signals: list[domain.Signal],
        make_events: Callable[[domain.Signal], list[Event]],
        previous: dict[str, str] | None = None,
    ) -> list[str | None]:
        """Insert many signals (COPY) with their events in one transaction.

        `previous` (old -> new pseudonym, during a key rotation): people converted first.
        Returns, per signal, None when stored or the id of the active signal that blocked it
        (objections.BLOCKED_PREFIX + objection id when an upheld objection blocked it).
        """
        if not signals:
            return []
        async with self.pool.connection() as conn, conn.transaction():
            await _convert(conn, {o: n for o, n in (previous or {}).items() if o != n})
            await conn.execute(
                "CREATE TEMP TABLE signals_intake (LIKE signals INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            # Upheld objections block their organisation for the person (objections.py).
            blocks = await objections.check_not_blocked(
                conn, sorted({(s.organisation.organisation_id, s.pseudonym) for s in signals})
            )
            async with conn.cursor() as cur, cur.copy(_q("COPY signals_intake ({cols}) FROM STDIN")) as copy:
                for s in signals:
                    if (s.organisation.organisation_id, s.pseudonym) not in blocks:
                        await copy.write_row(_row_values(s))
            # Duplicates within the load and against existing active signals are skipped here.
            inserted_rows = await (
                await conn.execute(
                    _q(
                        "INSERT INTO signals ({cols}) SELECT {cols} FROM signals_intake"
                        " ON CONFLICT (professional_id, pseudonym) WHERE status = 'active' DO NOTHING"
                        " RETURNING signal_id"
                    )
                )
            ).fetchall()
            inserted = {str(r[0]) for r in inserted_rows}
            results: list[str | None] = []
            blocked = [s for s in signals if s.signal_id not in inserted]
            existing: dict[tuple[str, str], str] = {}
            if blocked:
                rows = await (
                    await conn.execute(
                        "SELECT professional_id, pseudonym, signal_id FROM signals"
                        " WHERE status = 'active' AND (professional_id, pseudonym) IN"
                        " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                        (
                            [s.professional.professional_id for s in blocked],
                            [s.pseudonym for s in blocked],
                        ),
                    )
                ).fetchall()
                existing = {(r[0], r[1]): str(r[2]) for r in rows}
            events: list[Event] = []
            for s in signals:
                if s.signal_id in inserted:
                    results.append(None)
                    events.extend(make_events(s))
                elif block := blocks.get((s.organisation.organisation_id, s.pseudonym)):
                    results.append(objections.BLOCKED_PREFIX + block)
                else:
                    results.append(existing.get((s.professional.professional_id, s.pseudonym), ""))
            await _enqueue_copy(conn, outbox_copy_data(events))
            stored = [s for s in signals if s.signal_id in inserted]
            await processing_log.write(conn, logbook.RESOURCE, logbook.registered(stored, "bulk"))
        return results

    async def get(self, signal_id: str) -> domain.Signal | None:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            row = await (
                await cur.execute(_q("SELECT {cols} FROM signals WHERE signal_id = %s"), (signal_id,))
            ).fetchone()
        return _signal(row) if row else None

    async def list_for_professional(
        self,
        professional_id: str,
        status: domain.Status | None,
        after: tuple[datetime, str] | None,
        limit: int,
        only: list[str] | None = None,
    ) -> list[domain.Signal]:
        """A professional's signals, newest first, after the keyset position `after`;
        `only` (signal ids) narrows to those."""
        after_at, after_id = after if after else (None, None)
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    _q(
                        "SELECT {cols} FROM signals WHERE professional_id = %(p)s"
                        " AND (%(status)s::text IS NULL OR status = %(status)s)"
                        " AND (%(only)s::uuid[] IS NULL OR signal_id = ANY(%(only)s::uuid[]))"
                        " AND (%(after_at)s::timestamptz IS NULL"
                        "      OR (registered_at, signal_id) < (%(after_at)s, %(after_id)s::uuid))"
                        " ORDER BY registered_at DESC, signal_id DESC LIMIT %(limit)s"
                    ),
                    {
                        "p": professional_id,
                        "status": status.value if status else None,
                        "only": only,
                        "after_at": after_at,
                        "after_id": after_id,
                        "limit": limit,
                    },
                )
            ).fetchall()
        return [_signal(r) for r in rows]

    async def set_client_reference(
        self, signal_id: str, professional_id: str, reference: str
    ) -> domain.Signal | None:
        """Set (or clear with '') the reference on the professional's own signal; None when
        it is not theirs or unknown. The change is a processing of the person's data: its
        line (not the reference itself) commits with it."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            row = await (
                await cur.execute(
                    _q(
                        "UPDATE signals SET client_reference = %s WHERE signal_id = %s AND professional_id = %s"
                        " RETURNING {cols}"
                    ),
                    (reference or None, signal_id, professional_id),
                )
            ).fetchone()
            if row is None:
                return None
            signal = _signal(row)
            await processing_log.write(conn, logbook.RESOURCE, [logbook.client_reference(signal)])
        return signal

    async def processing_log(self, pseudonym: str) -> list[processing_log.pb.ProcessingLogLine]:
        async with self.pool.connection() as conn:
            return await processing_log.read(conn, pseudonym)

    async def subject_tags(self, pseudonym: str) -> list[bytes]:
        """The person's log tags, earlier keys' included (notify and the gateway read by them)."""
        async with self.pool.connection() as conn:
            return await processing_log.known_tags(conn, pseudonym)

    async def anomalies(self, since: datetime, informing_until: datetime) -> list[lpb.Anomaly]:
        """The anomaly report's counts from the log, and postponed informings past due."""
        async with self.pool.connection() as conn:
            found = await processing_log.anomalies(conn, "signal", since)
            rows = await (
                await conn.execute(
                    "SELECT organisation_id, professional_id, count(*) FROM signals WHERE status = 'active'"
                    " AND (person_postpone_reason IS NOT NULL OR representative_postpone_reason IS NOT NULL)"
                    " AND registered_at <= %s GROUP BY 1, 2",
                    (informing_until,),
                )
            ).fetchall()
        return found + [
            processing_log.pb.Anomaly(
                kind="informing_overdue", organisation_id=r[0], professional_id=r[1], count=r[2]
            )
            for r in rows
        ]

    async def log_lines(self, lines: Sequence[Line]) -> None:
        async with self.pool.connection() as conn:
            await processing_log.write(conn, logbook.RESOURCE, lines)

    async def list_on_pseudonym(self, pseudonym: str, previous: str | None = None) -> list[domain.Signal]:
        """Every signal on one person; `previous` as in `register`."""
        if previous is not None and previous != pseudonym:
            await self.replace({previous: pseudonym})
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    _q(
                        "SELECT {cols} FROM signals WHERE pseudonym = %s ORDER BY registered_at DESC, signal_id DESC"
                    ),
                    (pseudonym,),
                )
            ).fetchall()
        return [_signal(r) for r in rows]

    async def change(
        self, signal_id: str, decide: Callable[[domain.Signal | None], Change], reason: str = ""
    ) -> Change:
        """Lock one signal, let `decide` rule on it, and store the outcome with its events and
        its processing-log line (`reason`: why a deleted signal went).

        A DomainError raised by `decide` rolls everything back: a refusal writes nothing.
        """
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            row = await (
                await cur.execute(
                    _q("SELECT {cols} FROM signals WHERE signal_id = %s FOR UPDATE"), (signal_id,)
                )
            ).fetchone()
            before = _signal(row) if row else None
            outcome = decide(before)
            await processing_log.write(
                conn, logbook.RESOURCE, logbook.changed(before, outcome.signal, reason)
            )
            if outcome.signal is None:
                await conn.execute("DELETE FROM signals WHERE signal_id = %s", (signal_id,))
            else:
                s = outcome.signal
                await conn.execute(
                    "UPDATE signals SET status = %s, end_reason = %s, active_until = %s, ended_at = %s,"
                    " delete_after = %s, multi_problem_attested = %s, consent_given = %s, version = %s,"
                    " restricted = %s, consent_by = %s WHERE signal_id = %s",
                    (
                        s.status.value,
                        s.end_reason.value if s.end_reason else None,
                        s.active_until,
                        s.ended_at,
                        s.delete_after,
                        s.multi_problem_attested,
                        s.consent_given,
                        s.version,
                        s.restricted,
                        _code(s.consent_by),
                        signal_id,
                    ),
                )
                if outcome.informing_changed:
                    await conn.execute(
                        _INFORMING_UPDATE,
                        (
                            *_consent_and_informing_values(s)[2:],
                            _code(s.informed.method),
                            s.informed.informed_on,
                            _code(s.informed.postpone_reason),
                            signal_id,
                        ),
                    )
            if outcome.block is not None:
                await objections.add_block(conn, *outcome.block)
            for destinations, payload in outcome.events:
                await outbox.enqueue(conn, destinations, payload)
        return outcome

    # --- the lifecycle job: short batches, each its own transaction ---------------------

    async def purge_batch(self, now: datetime, limit: int) -> int:
        """Delete archived signals past their retention; DELETED (PURGED) to match."""
        return await self._batch(
            _q(
                "DELETE FROM signals s WHERE s.signal_id IN ("
                "  SELECT signal_id FROM signals WHERE status = 'archived' AND delete_after <= %(until)s"
                "  ORDER BY delete_after LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " RETURNING {event_returning}"
            ),
            {"until": domain.lifecycle_cutoffs(now).purge_until, "limit": limit},
            lambda row, at: [([MATCH], convert.purged_event(row, at))],
            now,
        )

    async def expire_batch(self, now: datetime, limit: int) -> int:
        """Archive signals whose active period is over; ENDED (EXPIRED) to match and notify.

        Each row is written as `domain.lapsed` decides: archived as of its active_until, kept
        RETENTION_PERIOD from then (test_store checks the two agree).
        """
        return await self._batch(
            _q(
                "WITH due AS ("
                "  SELECT signal_id FROM signals WHERE status = 'active' AND active_until <= %(until)s"
                "  ORDER BY active_until LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE signals s SET status = 'archived', end_reason = %(reason)s, ended_at = s.active_until,"
                "  delete_after = s.active_until + %(retention)s, version = s.version + 1"
                " FROM due WHERE s.signal_id = due.signal_id RETURNING {event_returning}"
            ),
            {
                "until": domain.lifecycle_cutoffs(now).expire_until,
                "limit": limit,
                "reason": domain.EndReason.EXPIRED.value,
                "retention": domain.RETENTION_PERIOD,
            },
            lambda row, at: [([MATCH, NOTIFY], convert.expired_event(row, at))],
            now,
        )

    async def remind_batch(self, now: datetime, limit: int) -> int:
        """Mark signals lapsing within 30 days as reminded; LAPSING_SOON to notify (once)."""
        cutoffs = domain.lifecycle_cutoffs(now)
        return await self._batch(
            _q(
                "WITH due AS ("
                "  SELECT signal_id FROM signals WHERE status = 'active'"
                "  AND active_until > %(after)s AND active_until <= %(until)s"
                "  AND reminded_for IS DISTINCT FROM active_until"
                "  ORDER BY active_until LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE signals s SET reminded_for = s.active_until"
                " FROM due WHERE s.signal_id = due.signal_id RETURNING {event_returning}"
            ),
            {"after": cutoffs.remind_after, "until": cutoffs.remind_until, "limit": limit},
            lambda row, at: [([NOTIFY], convert.lapsing_event(row, at))],
            now,
        )

    async def aged_out_batch(self, now: datetime, limit: int) -> int:
        """Archive youth-regime signals on people who turned 23 (domain.aged_out); ENDED
        (AGED_OUT) to match and notify. Archived as `domain.ended` decides, as of this run."""
        return await self._batch(
            _q(
                "WITH due AS ("
                "  SELECT signal_id FROM signals WHERE status = 'active' AND NOT multi_problem_attested"
                "  AND birth_date <= %(born)s ORDER BY birth_date LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE signals s SET status = 'archived', end_reason = %(reason)s, ended_at = %(now)s,"
                "  delete_after = %(delete_after)s, version = s.version + 1"
                " FROM due WHERE s.signal_id = due.signal_id RETURNING {event_returning}"
            ),
            {
                "born": domain.lifecycle_cutoffs(now).aged_out_born_until,
                "limit": limit,
                "reason": domain.EndReason.AGED_OUT.value,
                "now": now,
                "delete_after": now + domain.RETENTION_PERIOD,
            },
            lambda row, at: [([MATCH, NOTIFY], convert.expired_event(row, at))],
            now,
        )

    async def age_remind_batch(self, now: datetime, limit: int) -> int:
        """Youth-regime signals whose person turns 23 within 30 days: reminded once
        (domain.age_reminder_due); LAPSING_SOON with reason AGED_OUT to notify."""
        return await self._batch(
            _q(
                "WITH due AS ("
                "  SELECT signal_id FROM signals WHERE status = 'active' AND NOT multi_problem_attested"
                "  AND NOT age_reminded AND birth_date <= %(born)s"
                "  ORDER BY birth_date LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE signals s SET age_reminded = true"
                " FROM due WHERE s.signal_id = due.signal_id RETURNING {event_returning}"
            ),
            {"born": domain.lifecycle_cutoffs(now).age_remind_born_until, "limit": limit},
            lambda row, at: [([NOTIFY], convert.aging_out_event(row, at))],
            now,
        )

    async def remind_informing_batch(
        self, now: datetime, limit: int, after: timedelta = domain.INFORMING_REMINDER_AFTER
    ) -> int:
        """Signals whose informing is still postponed `after` registration: one reminder each
        (domain.informing_reminder_due; the partial index of migration 005 serves this)."""
        return await self._batch(
            _q(
                "WITH due AS ("
                "  SELECT signal_id FROM signals WHERE status = 'active' AND NOT informing_reminded"
                "  AND (person_postpone_reason IS NOT NULL OR representative_postpone_reason IS NOT NULL)"
                "  AND registered_at <= %(until)s"
                "  ORDER BY registered_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE signals s SET informing_reminded = true"
                " FROM due WHERE s.signal_id = due.signal_id RETURNING {event_returning}"
            ),
            {"until": now - after, "limit": limit},
            lambda row, at: [([NOTIFY], convert.informing_postponed_event(row, at))],
            now,
        )

    async def _batch(self, query: str, params: dict[str, Any], make_events: RowEvents, now: datetime) -> int:
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            rows = await (await cur.execute(query, params)).fetchall()
            # Building thousands of events is CPU work: done in a thread so the service's
            # event loop keeps answering (registrations) while a batch is prepared.
            data = await asyncio.to_thread(_events_for, rows, make_events, convert.timestamp(now))
            await _enqueue_copy(conn, data)
        return len(rows)

    async def run_lifecycle(
        self,
        now: datetime,
        batch_size: int = 5000,
        workers: int = 1,
        informing_after: timedelta = domain.INFORMING_REMINDER_AFTER,
    ) -> LifecycleCounts:
        """Purge, expire, remind: each in batches until nothing is due. Idempotent.

        With `workers` > 1 batches run side by side (SKIP LOCKED keeps them apart). On two
        shared cores that did not raise throughput and doubled registration latency during
        the job (bench/bench_signal_expiry.py), hence one by default.
        """
        return LifecycleCounts(
            purged=await self._drain(self.purge_batch, now, batch_size, workers),
            expired=await self._drain(self.expire_batch, now, batch_size, workers),
            reminded=await self._drain(self.remind_batch, now, batch_size, workers),
            aged_out=await self._drain(self.aged_out_batch, now, batch_size, workers),
            age_reminded=await self._drain(self.age_remind_batch, now, batch_size, workers),
            informing_reminded=await self._drain(
                functools.partial(self.remind_informing_batch, after=informing_after),
                now,
                batch_size,
                workers,
            ),
        )

    @staticmethod
    async def _drain(
        batch: Callable[[datetime, int], Awaitable[int]], now: datetime, size: int, workers: int
    ) -> int:
        async def worker() -> int:
            done = 0
            while (n := await batch(now, size)) > 0:
                done += n
            return done

        return sum(await asyncio.gather(*(worker() for _ in range(max(1, workers)))))

    # --- objections (services/signal/objections.py) ---------------------------------------

    async def lift_objection_block(self, objection_id: str) -> bool:
        """Lift an upheld objection's block; False when there is none (any more)."""
        async with self.pool.connection() as conn, conn.transaction():
            return await objections.lift_block(conn, objection_id)

    # --- the BRP re-check (issue 18, services/signal/recheck.py) -------------------------

    async def active_people(self, after: str, limit: int) -> list[tuple[str, str]]:
        """(pseudonym, municipality code or "") of people with active signals, in order."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT pseudonym, coalesce(max(municipality_code), '') FROM signals"
                    " WHERE status = 'active' AND pseudonym > %s GROUP BY pseudonym"
                    " ORDER BY pseudonym LIMIT %s",
                    (after, limit),
                )
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    async def parents_of(self, pseudonyms: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The parents' pseudonyms on each person's active signals (family matches)."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT pseudonym, max(parent_pseudonyms) FROM signals"
                    " WHERE status = 'active' AND pseudonym = ANY(%s) GROUP BY pseudonym",
                    (list(pseudonyms),),
                )
            ).fetchall()
        return {r[0]: tuple(r[1] or ()) for r in rows}

    async def set_parents(self, pseudonym: str, parents: Sequence[str], now: datetime) -> int:
        """New parents on the person's active signals; FAMILY_CHANGED to match (version + 1)."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    _q(
                        "UPDATE signals SET parent_pseudonyms = %s::text[], version = version + 1"
                        " WHERE pseudonym = %s AND status = 'active'"
                        " AND parent_pseudonyms IS DISTINCT FROM %s::text[] RETURNING {cols}"
                    ),
                    (list(parents), pseudonym, list(parents)),
                )
            ).fetchall()
            for row in rows:
                event = convert.signal_event(_signal(row), pb.SIGNAL_EVENT_KIND_FAMILY_CHANGED, now)
                await outbox.enqueue(conn, [MATCH], event.SerializeToString())
        return len(rows)

    async def active_among(self, pseudonyms: Sequence[str]) -> list[str]:
        """Which of these people have an active signal (identity's vault back-fill)."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT DISTINCT pseudonym FROM signals WHERE status = 'active' AND pseudonym = ANY(%s)"
                    " ORDER BY pseudonym",
                    (list(pseudonyms),),
                )
            ).fetchall()
        return [r[0] for r in rows]

    async def set_municipality(self, pseudonym: str, code: str, moved_out: bool, now: datetime) -> int:
        """The person's new municipality on their active signals; MOVED_OUT to notify."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    _q(
                        "UPDATE signals SET municipality_code = %s"
                        " WHERE pseudonym = %s AND status = 'active' RETURNING {cols}"
                    ),
                    (code, pseudonym),
                )
            ).fetchall()
            if moved_out:
                for row in rows:
                    event = convert.signal_event(_signal(row), pb.SIGNAL_EVENT_KIND_MOVED_OUT, now)
                    event.municipality_code = code
                    # Match tells a peer region that has the person too (federation, issue 19).
                    await outbox.enqueue(conn, [NOTIFY, MATCH], event.SerializeToString())
        return len(rows)
