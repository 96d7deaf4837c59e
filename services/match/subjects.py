"""The persons a match is about, for the processing log: a person match is about its own
person; a family match (family.py) about the parent it is anchored on AND every family
member one of its members signalled. A disclosure of a family match is a disclosure about
each of them, so each gets a line (and a child's access document lists the family match).
"""

from collections.abc import Sequence
from dataclasses import replace

import psycopg

from services.match import domain


async def of_matches(
    conn: psycopg.AsyncConnection, matches: Sequence[domain.Match | None]
) -> dict[str, list[str]]:
    """match id -> the pseudonyms it is about (the anchor first)."""
    found = [m for m in matches if m is not None]
    out = {m.match_id: [m.pseudonym] for m in found}
    family = [m for m in found if m.kind == "family"]
    signals = sorted({x.signal_id for m in family for x in m.members})
    if not signals:
        return out
    cur = await conn.execute(
        "SELECT signal_id, pseudonym FROM involvements WHERE signal_id = ANY(%s)", (signals,)
    )
    person_of = {str(r[0]): str(r[1]) for r in await cur.fetchall()}
    for m in family:
        found_here = [person_of[x.signal_id] for x in m.members if x.signal_id in person_of]
        out[m.match_id] = list(dict.fromkeys([m.pseudonym, *sorted(found_here)]))
    return out


async def of_decisions(
    conn: psycopg.AsyncConnection, decisions: Sequence[domain.Decision]
) -> dict[str, list[str]]:
    """As `of_matches`, over the members before AND after each decision: the person of a
    member who left is told about too."""
    wholes = []
    for d in decisions:
        match = d.after or d.before
        if match is None:
            continue
        members = {m.professional_id: m for m in (*(d.before.members if d.before else ()), *match.members)}
        wholes.append(replace(match, members=tuple(members.values())))
    return await of_matches(conn, wholes)
