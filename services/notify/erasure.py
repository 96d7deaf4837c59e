"""Erasure in notify: an ERASED MatchEvent removes every copy notify holds about the match.

Match sends ERASED through its outbox after every earlier event of the match, when signals of
the match were deleted (unjustified, objection upheld, purged). Every inbox item and mail that
notify stored about the match listed its members (and so the erased professional), so they
all go: inbox items of the match or of the erased signals, their deliveries (e-mail and
webhook, stored bodies included) and daily digests that folded one of those mails in. The
remaining members get one neutral inbox item, without names, pointing to the match itself.
Idempotent: events_applied guards the neutral item, the deletes find nothing the second time.
Deliveries are claimed, sent and recorded in separate short transactions (store.process_due):
the delete never waits for a send, and a delivery erased while it was being sent stays gone
(record_outcomes only updates rows that still exist).
"""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool
from sluis.match.v1 import match_pb2

KIND = "match_erased"
TITLE = "Match gewijzigd"
BODY = (
    "De samenstelling van een match waarin u betrokken bent is gewijzigd. Eerdere berichten"
    " over deze match zijn verwijderd. Bekijk de match voor de actuele betrokkenen."
)


@dataclass(frozen=True)
class Erasure:
    event_id: str
    match_id: str
    signal_ids: tuple[str, ...]
    recipients: tuple[str, ...]  # professional ids of the remaining members


def is_erasure(event: match_pb2.MatchEvent) -> bool:
    return event.kind == match_pb2.MATCH_EVENT_KIND_ERASED


def erasure_of(event: match_pb2.MatchEvent) -> Erasure:
    return Erasure(
        event_id=event.event_id.strip(),
        match_id=event.match_id.strip(),
        signal_ids=tuple(s.strip() for s in event.erased_signal_ids if s.strip()),
        recipients=tuple(r.professional_id.strip() for r in event.recipients if r.professional_id.strip()),
    )


def runs(
    events: Sequence[match_pb2.MatchEvent],
) -> Iterator[tuple[bool, list[match_pb2.MatchEvent]]]:
    """The events in order, as runs of (is_erasure, events): applied run by run, order kept."""
    current: list[match_pb2.MatchEvent] = []
    erasing = False
    for event in events:
        if current and is_erasure(event) != erasing:
            yield erasing, current
            current = []
        erasing = is_erasure(event)
        current.append(event)
    if current:
        yield erasing, current


async def erase(pool: AsyncConnectionPool, erasures: Sequence[Erasure], now: datetime) -> tuple[int, int]:
    """Apply ERASED events in one transaction; (accepted, duplicates)."""
    accepted = 0
    async with pool.connection() as conn, conn.transaction():
        for e in erasures:
            fresh = await (
                await conn.execute(
                    "INSERT INTO events_applied (event_id, kind, applied_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING event_id",
                    (e.event_id, KIND, now),
                )
            ).fetchone()
            if fresh is None:
                continue
            accepted += 1
            cur = await conn.execute(
                "DELETE FROM inbox_items WHERE (match_id = %s AND match_id <> '') OR signal_id = ANY(%s)"
                " RETURNING event_id",
                (e.match_id, list(e.signal_ids)),
            )
            event_ids = sorted({r[0] for r in await cur.fetchall()})
            if event_ids:
                # Who those notices were about goes too (the log lines of their sending stay).
                await conn.execute("DELETE FROM notice_subjects WHERE event_id = ANY(%s)", (event_ids,))
                cur = await conn.execute(
                    "DELETE FROM deliveries WHERE event_id = ANY(%s) RETURNING digest_id", (event_ids,)
                )
                digests = sorted({f"digest:{r[0]}" for r in await cur.fetchall() if r[0] is not None})
                if digests:
                    await conn.execute("DELETE FROM deliveries WHERE event_id = ANY(%s)", (digests,))
            if e.match_id and e.recipients:
                await conn.cursor().executemany(
                    "INSERT INTO inbox_items (item_id, professional_id, event_id, kind, title, body, match_id,"
                    " signal_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s)"
                    " ON CONFLICT (event_id, professional_id) DO NOTHING",
                    [(uuid.uuid4(), p, e.event_id, KIND, TITLE, BODY, e.match_id, now) for p in e.recipients],
                )
    return accepted, len(erasures) - accepted
