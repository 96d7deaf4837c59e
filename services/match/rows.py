"""The match tables as domain objects: loading and writing involvements, matches and members.

All SQL of the match service is here or in store.py (notices: notices.py); store.py
orchestrates each transaction, this module maps rows to and from `services.match.domain`.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from services.common.contacts import contact_from_values, contact_values
from services.match import domain
from services.match.notices import Notices

INVOLVEMENT_COLUMNS = (
    "signal_id, pseudonym, professional_id, name, role, phone, email, organisation_id,"
    " organisation_name, may_coordinate, domains, registered_at, active, version, parent_pseudonyms, adult_on"
)


def involvement_from_row(row: Sequence[Any]) -> domain.Involvement:
    return domain.Involvement(
        signal_id=row[0],
        pseudonym=row[1],
        contact=contact_from_values(row[2:9]),
        may_coordinate=row[9],
        domains=tuple(row[10]),
        registered_at=row[11],
        active=row[12],
        version=row[13],
        parent_pseudonyms=tuple(row[14]),
        adult_on=row[15],
    )


def involvement_params(inv: domain.Involvement) -> tuple[Any, ...]:
    return (
        inv.signal_id,
        inv.pseudonym,
        *contact_values(inv.contact),
        inv.may_coordinate,
        ",".join(inv.domains),
        inv.registered_at,
        inv.active,
        inv.version,
        ",".join(inv.parent_pseudonyms),
        inv.adult_on.isoformat() if inv.adult_on else "",
    )


def member_params(match_id: str, m: domain.Member) -> tuple[Any, ...]:
    professional_id, *details = contact_values(m.contact)
    return (
        match_id,
        professional_id,
        m.signal_id,
        *details,
        m.may_coordinate,
        ",".join(m.domains),
        m.registered_at,
        m.joined_at,
    )


def columns(rows: Sequence[tuple[Any, ...]], width: int) -> tuple[list[Any], ...]:
    """Rows as one list per column, for INSERT ... SELECT FROM unnest(arrays).

    Domains travel as comma-joined text (domain names are fixed codes without commas)
    because unnest would flatten an array of arrays.
    """
    return tuple([row[i] for row in rows] for i in range(width))


async def load_involvements(
    conn: psycopg.AsyncConnection, pseudonyms: Sequence[str]
) -> dict[str, dict[str, domain.Involvement]]:
    """Every involvement of these persons, per person keyed by signal id."""
    out: dict[str, dict[str, domain.Involvement]] = defaultdict(dict)
    cur = await conn.execute(
        f"SELECT {INVOLVEMENT_COLUMNS} FROM involvements WHERE pseudonym = ANY(%s)",  # noqa: S608
        (list(pseudonyms),),
    )
    for row in await cur.fetchall():
        inv = involvement_from_row(row)
        out[inv.pseudonym][inv.signal_id] = inv
    return out


async def upsert_involvements(conn: psycopg.AsyncConnection, changed: Sequence[domain.Involvement]) -> None:
    """Write changed involvements in one statement (arrays per column, unnested on the server);
    a row never goes back to an older signal version."""
    await conn.execute(
        "INSERT INTO involvements (signal_id, pseudonym, professional_id, name, role, phone, email,"
        " organisation_id, organisation_name, may_coordinate, domains, registered_at, active, version,"
        " parent_pseudonyms, adult_on)"
        " SELECT s, p, pr, n, r, ph, e, o, ona, mc, string_to_array(d, ','), ra, a, v,"
        " string_to_array(pp, ','), nullif(ao, '')::date FROM unnest("
        " %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
        " %b::text[], %b::boolean[], %b::text[], %b::timestamptz[], %b::boolean[], %b::integer[],"
        " %b::text[], %b::text[])"
        " AS t(s, p, pr, n, r, ph, e, o, ona, mc, d, ra, a, v, pp, ao)"
        " ON CONFLICT (signal_id) DO UPDATE SET pseudonym = EXCLUDED.pseudonym,"
        " professional_id = EXCLUDED.professional_id, name = EXCLUDED.name, role = EXCLUDED.role,"
        " phone = EXCLUDED.phone, email = EXCLUDED.email, organisation_id = EXCLUDED.organisation_id,"
        " organisation_name = EXCLUDED.organisation_name, may_coordinate = EXCLUDED.may_coordinate,"
        " domains = EXCLUDED.domains, registered_at = EXCLUDED.registered_at,"
        " active = EXCLUDED.active, version = EXCLUDED.version, updated_at = now(),"
        " parent_pseudonyms = EXCLUDED.parent_pseudonyms, adult_on = EXCLUDED.adult_on"
        " WHERE involvements.version < EXCLUDED.version",
        columns([involvement_params(inv) for inv in changed], 16),
    )


async def open_matches(
    conn: psycopg.AsyncConnection, pseudonyms: list[str], kind: str = "person"
) -> dict[str, domain.Match]:
    """The open matches of this kind, by pseudonym (the person; a family's parent)."""
    cur = await conn.execute(
        "SELECT match_id, pseudonym, coordinator_professional_id, pending_coordinator_professional_id,"
        " created_at, kind, takeover_professional_id, takeover_due_at, coordinator_offered, offer_due_at,"
        " declined_professional_ids FROM matches WHERE status = 'open' AND pseudonym = ANY(%s) AND kind = %s",
        (pseudonyms, kind),
    )
    heads = await cur.fetchall()
    if not heads:
        return {}
    members = await load_members(conn, [str(h[0]) for h in heads], current_only=True)
    return {
        h[1]: domain.Match(
            match_id=str(h[0]),
            pseudonym=h[1],
            status=domain.MatchStatus.OPEN,
            members=tuple(members.get(str(h[0]), ())),
            coordinator_id=h[2],
            pending_coordinator_id=h[3],
            created_at=h[4],
            kind=h[5],
            **coordination_fields(h[6:]),
        )
        for h in heads
    }


def coordination_fields(row: Sequence[Any]) -> dict[str, Any]:
    """The coordination columns (migration 011) of a match row, as Match fields."""
    return {
        "takeover_id": row[0],
        "takeover_due": row[1],
        "offered": row[2],
        "offer_due": row[3],
        "declined": tuple(row[4]),
    }


def coordination_params(m: domain.Match) -> tuple[Any, ...]:
    return (m.takeover_id, m.takeover_due, m.offered, m.offer_due, list(m.declined))


async def load_members(
    conn: psycopg.AsyncConnection, match_ids: list[str], *, current_only: bool
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
                contact=contact_from_values((r[1], *r[3:9])),
                signal_id=r[2],
                may_coordinate=r[9],
                domains=tuple(r[10]),
                registered_at=r[11],
                joined_at=r[12],
            )
        )
    return out


async def select_matches(
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
        " pending_coordinator_professional_id, created_at, closed_at, kind, takeover_professional_id,"
        " takeover_due_at, coordinator_offered, offer_due_at, declined_professional_ids FROM matches m"
        " WHERE {} ORDER BY created_at, match_id LIMIT %s OFFSET %s"
    ).format(sql.SQL(where))
    cur = await conn.execute(query, (*params, limit, offset))
    heads = await cur.fetchall()
    if not heads:
        return []
    open_ids = [str(h[0]) for h in heads if h[2] == "open"]
    closed_ids = [str(h[0]) for h in heads if h[2] != "open"]
    members = await load_members(conn, open_ids, current_only=True) if open_ids else {}
    # A closed match shows everybody who was ever a member (access requests).
    if closed_ids:
        members.update(await load_members(conn, closed_ids, current_only=False))
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
            kind=h[7],
            **coordination_fields(h[8:]),
        )
        for h in heads
    ]


async def write_decisions(
    conn: psycopg.AsyncConnection,
    decisions: Iterable[tuple[domain.Decision, bool]],
    now: datetime,
    notices: Notices,
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
                    after.kind,
                    *coordination_params(after),
                )
            )
        else:
            updated_matches.append(
                (
                    after.status.value,
                    after.coordinator_id,
                    after.pending_coordinator_id,
                    after.closed_at,
                    *coordination_params(after),
                    after.match_id,
                )
            )
            remaining = {m.professional_id for m in after.members}
            leavers += [
                (now, after.match_id, m.professional_id)
                for m in decision.before.members
                if m.professional_id not in remaining
            ]
        member_rows += [member_params(after.match_id, m) for m in after.members]
        if not decision.changes:
            continue
        if notices.delay and all(c.kind in domain.ENTRY_KINDS for c in decision.changes):
            entries.append((after.match_id, decision.changes, bulk))
        else:
            direct.append((after.match_id, decision.changes, bulk))
    cur = conn.cursor()
    if new_matches:
        await cur.executemany(
            "INSERT INTO matches (match_id, pseudonym, status, coordinator_professional_id,"
            " pending_coordinator_professional_id, created_at, kind, takeover_professional_id, takeover_due_at,"
            " coordinator_offered, offer_due_at, declined_professional_ids)"
            " VALUES (%s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            new_matches,
        )
    if updated_matches:
        await cur.executemany(
            "UPDATE matches SET status = %s, coordinator_professional_id = %s,"
            " pending_coordinator_professional_id = %s, closed_at = %s, takeover_professional_id = %s,"
            " takeover_due_at = %s, coordinator_offered = %s, offer_due_at = %s,"
            " declined_professional_ids = %s WHERE match_id = %s",
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
            columns(member_rows, 13),
        )
    if leavers:
        await cur.executemany(
            "UPDATE match_members SET left_at = %s WHERE match_id = %s AND professional_id = %s",
            leavers,
        )
    await notices.write(conn, entries, direct, now)
