"""Ending every active signal on one person or of one professional, in one transaction.

Used when a region admin records a person's death (reason deceased), when an organisation
admin ends all signals of a professional who leaves (reason other), and by transfers.py for
the signals a colleague already holds. Each signal is archived as `domain.ended` decides
(kept RETENTION_PERIOD, never deleted at once) and match hears ENDED, as for a professional
ending it; notify tells the professional when the reason is not their own doing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sluis.signal.v1 import signal_pb2 as pb

from services.common import outbox, processing_log
from services.signal import convert, domain, logbook
from services.signal.store import MATCH, NOTIFY, _q, _signal


async def archive(
    conn: psycopg.AsyncConnection[Any],
    signals: Sequence[domain.Signal],
    reason: domain.EndReason,
    now: datetime,
) -> None:
    """Archive these active signals (the caller holds their row locks) and tell match (and
    notify, for a death: the professional did not end it)."""
    destinations = [MATCH, NOTIFY] if reason is domain.EndReason.DECEASED else [MATCH]
    await processing_log.write(conn, logbook.RESOURCE, logbook.ended(signals, reason), now)
    for s in (domain.ended(signal, reason, now) for signal in signals):
        await conn.execute(
            "UPDATE signals SET status = 'archived', end_reason = %s, ended_at = %s, delete_after = %s,"
            " version = %s WHERE signal_id = %s",
            (reason.value, s.ended_at, s.delete_after, s.version, s.signal_id),
        )
        event = convert.signal_event(s, pb.SIGNAL_EVENT_KIND_ENDED, now)
        await outbox.enqueue(conn, destinations, event.SerializeToString())


_ACTIVE_BY = {
    "pseudonym": "SELECT {cols} FROM signals WHERE pseudonym = %s AND status = 'active'"
    " ORDER BY signal_id FOR UPDATE",
    "professional_id": "SELECT {cols} FROM signals WHERE professional_id = %s AND status = 'active'"
    " ORDER BY signal_id FOR UPDATE",
}


async def end_active(
    pool: AsyncConnectionPool,
    by: Literal["pseudonym", "professional_id"],
    value: str,
    reason: domain.EndReason,
    now: datetime,
) -> int:
    """End every active signal on a person (`by` pseudonym) or of a professional; how many."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        rows = await (
            await cur.execute(
                _q(_ACTIVE_BY[by]),
                (value,),
            )
        ).fetchall()
        signals = [_signal(r) for r in rows]
        await archive(conn, signals, reason, now)
    return len(signals)
