"""Professionals who leave: the coordinator role follows their signal to the colleague.

A TRANSFERRED signal event is an active signal now held by a colleague of the same
organisation. The normal rules then see the leaver leave and the colleague join (MEMBER_LEFT
and MEMBER_JOINED tell the other members). Before the rules run, in the same transaction and
under the same person locks (the store's persist step), an open match coordinated by the leaver is handed to the
colleague, so rule 1 (the coordinator keeps the role while a member) keeps it there instead
of choosing a successor by the regional rules.
"""

from collections.abc import Sequence

import psycopg

from services.match import domain


async def hand_over_role(conn: psycopg.AsyncConnection, updates: Sequence[domain.SignalUpdate]) -> None:
    """The caller (store._apply_group) holds the persons' locks."""
    moves = [
        (u.pseudonym, u.transferred_from, u.contact.professional_id) for u in updates if u.transferred_from
    ]
    if not moves:
        return
    await conn.cursor().executemany(
        "UPDATE matches SET coordinator_professional_id = %s,"
        " pending_coordinator_professional_id = CASE WHEN pending_coordinator_professional_id = %s"
        "  THEN '' ELSE pending_coordinator_professional_id END"
        " WHERE status = 'open' AND pseudonym = %s AND coordinator_professional_id = %s",
        [(to, to, pseudonym, leaver) for pseudonym, leaver, to in moves],
    )
