"""Erasure: when a signal is deleted, every copy match holds of it goes in the same transaction.

A DELETED signal event (unjustified, objection upheld, purged after its archive period) first
goes through the normal rules (the member leaves, the coordinator role moves on, the match may
close). Then, still under the person's lock:
- the involvement row and every member row that names the signal are deleted (with them the
  contact snapshot of that professional for this person);
- a match left without any member row is deleted;
- only sha256(signal id) stays in `erased_signals`, so a late redelivery of an older event of
  that signal is recognised and ignored instead of reviving it;
- one ERASED MatchEvent per affected match goes to notify through the same outbox (so after
  every earlier event of the match): notify deletes its inbox items and deliveries about the
  match and tells the remaining members, without names, that the match changed.
"""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg
from sluis.match.v1 import match_pb2 as pb

from services.common import outbox
from services.common.contacts import contact_to_proto
from services.common.protos import to_timestamp
from services.match import domain
from services.match.notices import NOTIFY


def signal_hash(signal_id: str) -> bytes:
    """The one-way key of an erased signal (signal ids are random, so not guessable)."""
    return hashlib.sha256(signal_id.encode()).digest()


def erased_ids(updates: Sequence[domain.SignalUpdate | None]) -> list[str]:
    """The signal ids these updates delete (sorted, distinct)."""
    return sorted({u.signal_id for u in updates if u is not None and u.change is domain.SignalChange.DELETED})


async def already_erased(conn: psycopg.AsyncConnection, signal_ids: Sequence[str]) -> set[str]:
    """Which of these signals were erased before (their events are ignored)."""
    if not signal_ids:
        return set()
    by_hash = {signal_hash(s): s for s in signal_ids}
    cur = await conn.execute(
        "SELECT signal_hash FROM erased_signals WHERE signal_hash = ANY(%s)", (list(by_hash),)
    )
    return {by_hash[bytes(r[0])] for r in await cur.fetchall()}


def erased_event(
    match_id: str, recipients: Sequence[domain.Contact], signal_ids: Sequence[str], now: datetime
) -> bytes:
    return pb.MatchEvent(
        event_id=str(uuid.uuid4()),
        kind=pb.MATCH_EVENT_KIND_ERASED,
        match_id=match_id,
        recipients=[contact_to_proto(c) for c in recipients],
        occurred_at=to_timestamp(now),
        erased_signal_ids=list(signal_ids),
    ).SerializeToString()


async def erase_signals(conn: psycopg.AsyncConnection, signal_ids: Sequence[str], now: datetime) -> int:
    """Delete every copy of these signals (the caller holds the persons' locks); idempotent.

    Returns the number of rows deleted; 0 (and no event) when they were erased already.
    """
    ids = sorted(set(signal_ids))
    if not ids:
        return 0
    cur = await conn.execute("DELETE FROM match_members WHERE signal_id = ANY(%s) RETURNING match_id", (ids,))
    match_ids = sorted({str(r[0]) for r in await cur.fetchall()})
    cur = await conn.execute("DELETE FROM involvements WHERE signal_id = ANY(%s)", (ids,))
    deleted = cur.rowcount + len(match_ids)
    await conn.execute(
        "INSERT INTO erased_signals (signal_hash, erased_at) SELECT unnest(%b::bytea[]), %s"
        " ON CONFLICT DO NOTHING",
        ([signal_hash(s) for s in ids], now),
    )
    if deleted == 0:
        return 0
    await forget_in_matches(conn, match_ids, ids, now)
    return deleted


async def forget_in_matches(
    conn: psycopg.AsyncConnection, match_ids: Sequence[str], ids: Sequence[str], now: datetime
) -> None:
    """After the member rows of erased signals `ids` went from `match_ids`: matches left
    without members go, and notify is told (one ERASED event per match)."""
    payloads: list[bytes] = []
    if match_ids:
        # Matches nobody is a member of any more go altogether (with a notice still waiting).
        cur = await conn.execute(
            "DELETE FROM matches m WHERE m.match_id = ANY(%s::uuid[])"
            " AND NOT EXISTS (SELECT 1 FROM match_members mm WHERE mm.match_id = m.match_id)"
            " RETURNING match_id",
            (match_ids,),
        )
        gone = [str(r[0]) for r in await cur.fetchall()]
        # Events notify refused, parked with contact details of the match's members.
        await conn.execute(
            "DELETE FROM undeliverable_events u USING unnest(%s::text[]) AS m(id)"
            " WHERE position(convert_to(m.id, 'UTF8') in u.payload) > 0",
            (match_ids,),
        )
        if gone:
            await conn.execute("DELETE FROM pending_notices WHERE match_id = ANY(%s::uuid[])", (gone,))
        cur = await conn.execute(
            "SELECT match_id, professional_id, name, role, phone, email, organisation_id, organisation_name"
            " FROM match_members WHERE match_id = ANY(%s::uuid[]) AND left_at IS NULL"
            " ORDER BY match_id, professional_id",
            (match_ids,),
        )
        remaining: dict[str, list[domain.Contact]] = {m: [] for m in match_ids}
        for r in await cur.fetchall():
            remaining[str(r[0])].append(domain.Contact(*r[1:]))
        payloads = [erased_event(m, remaining[m], ids, now) for m in match_ids]
    else:
        # Not in any match: notify may still hold reminders about the signal itself.
        payloads = [erased_event("", [], ids, now)]
    await outbox.enqueue_many(conn, [NOTIFY], payloads)
