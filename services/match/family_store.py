"""The SQL side of family matches (issue 18; the rules are in family.py).

Runs inside the transaction that applied signal events (after the person matches were
decided), or inside the refresh job's own transaction (children who turned 18). Family
decisions are serialised by ONE advisory lock, taken after the person locks and only when a
change concerns a family at all: a family spans several persons, whose locks cannot all be
known before the family is loaded, and a single lock taken last cannot deadlock. A region
without the BRP link has no parents on its involvements and never takes it.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg

from services.common import processing_log
from services.match import domain, family, logbook, rows, subjects
from services.match.notices import Notices

_FAMILY_LOCK = 0x5E1D_F0A1
_NL = ZoneInfo("Europe/Amsterdam")


def today(now: datetime) -> date:
    """The calendar day in the Netherlands: a child turns 18 on a Dutch date."""
    return now.astimezone(_NL).date()


async def lock(conn: psycopg.AsyncConnection) -> None:
    """The one lock of every family decision (and of coordinator actions on family matches)."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FAMILY_LOCK,))


async def _concerned(conn: psycopg.AsyncConnection, changed: Sequence[domain.Involvement]) -> list[str]:
    """The anchors whose families these changes may touch ([] when none at all)."""
    anchors = family.anchors_of(changed)
    if any(inv.parent_pseudonyms for inv in changed):
        return sorted(anchors)
    persons = sorted({inv.pseudonym for inv in changed})
    row = await (
        await conn.execute(
            # On the parents' B-tree (match migration 020), not the array itself.
            "SELECT EXISTS (SELECT 1 FROM involvement_parents WHERE parent_pseudonym = ANY(%s::text[]))"
            " OR EXISTS (SELECT 1 FROM matches WHERE kind = 'family' AND status = 'open'"
            " AND pseudonym = ANY(%s))",
            (persons, persons),
        )
    ).fetchone()
    return sorted(anchors) if row and row[0] else []


async def _involvements(conn: psycopg.AsyncConnection, anchors: Sequence[str]) -> list[domain.Involvement]:
    """Active involvements on these parents or on their children."""
    cur = await conn.execute(
        f"SELECT {rows.INVOLVEMENT_COLUMNS} FROM involvements"  # noqa: S608
        " WHERE active AND (pseudonym = ANY(%s) OR signal_id IN"
        " (SELECT signal_id FROM involvement_parents WHERE parent_pseudonym = ANY(%s::text[])))",
        (list(anchors), list(anchors)),
    )
    return [rows.involvement_from_row(r) for r in await cur.fetchall()]


async def decide(
    conn: psycopg.AsyncConnection,
    anchors: Iterable[str],
    rules: domain.CoordinatorRules,
    now: datetime,
    notices: Notices,
    allow_new: bool = True,
) -> int:
    """Decide and persist the family matches of these anchors and of the families that share
    a child with them (one may now cover the other); returns the number of changed matches."""
    anchors = sorted(set(anchors))
    if not anchors:
        return 0
    await lock(conn)
    loaded = {inv.signal_id: inv for inv in await _involvements(conn, anchors)}
    related = sorted(family.anchors_of(loaded.values()) - set(anchors))
    if related:
        loaded.update((inv.signal_id, inv) for inv in await _involvements(conn, related))
    everyone = sorted(set(anchors) | set(related))
    open_matches = await rows.open_matches(conn, everyone, kind=family.FAMILY)
    decisions = family.decide_families(
        everyone,
        list(loaded.values()),
        open_matches,
        rules,
        now=now,
        today=today(now),
        new_match_id=lambda: str(uuid.uuid4()),
        allow_new=allow_new,
    )
    # A match taken over by a bigger family moved to its anchor (family.reanchor).
    moved = [(d.after.pseudonym, d.after.match_id) for d in decisions if d.after is not None]
    if moved:
        await conn.cursor().executemany(
            "UPDATE matches SET pseudonym = %s WHERE match_id = %s AND pseudonym <> %s",
            [(anchor, match_id, anchor) for anchor, match_id in moved],
        )
    await rows.write_decisions(conn, [(d, False) for d in decisions], now, notices)
    # Past and present memberships, coordinators and notices: a line for every family member.
    about = await subjects.of_decisions(conn, decisions)
    lines = logbook.per_person(logbook.decision_lines(decisions), about)
    await processing_log.write(conn, logbook.RESOURCE, lines, now)
    return sum(1 for d in decisions if d.changed)


async def after_changes(
    conn: psycopg.AsyncConnection,
    changed: Sequence[domain.Involvement],
    rules: domain.CoordinatorRules,
    now: datetime,
    notices: Notices,
    allow_new: bool = True,
) -> int:
    """The family side of applied signal events (same transaction)."""
    return await decide(conn, await _concerned(conn, changed), rules, now, notices, allow_new)


async def open_anchors(conn: psycopg.AsyncConnection, after: str, limit: int) -> list[str]:
    """Anchors of open family matches, in order (the refresh job walks them in batches)."""
    cur = await conn.execute(
        "SELECT pseudonym FROM matches WHERE kind = 'family' AND status = 'open' AND pseudonym > %s"
        " ORDER BY pseudonym LIMIT %s",
        (after, limit),
    )
    return [r[0] for r in await cur.fetchall()]


async def match_involvements(
    conn: psycopg.AsyncConnection, match: domain.Match, now: datetime
) -> list[domain.Involvement]:
    """The involvements a family match is made of now (who may see it)."""
    loaded = await _involvements(conn, [match.pseudonym])
    return family.family_involvements(loaded, match.pseudonym, today(now))
