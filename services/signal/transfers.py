"""Professionals who leave: their active signals go to a colleague, in one transaction.

A transferred signal keeps its id and dates (registered_at, active_until); only the holder and
the contact snapshot change, and match hears TRANSFERRED (with the previous holder) so the
match, and the coordinator role, follow the colleague. When the colleague already holds an
active signal on the same person, the leaver's signal is ended instead (archived, reason
other): one professional has one active signal per person.
"""

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sluis.signal.v1 import signal_pb2 as pb

from services.common import outbox, processing_log
from services.common.contacts import Contact
from services.signal import convert, domain, endings, logbook
from services.signal.store import MATCH, _q, _signal


async def transfer(
    pool: AsyncConnectionPool, from_professional_id: str, to: Contact, now: datetime
) -> tuple[int, int]:
    """(transferred, ended); InvalidArgument (nothing changed) when a signal cannot go to `to`."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        rows = await (
            await cur.execute(
                _q(
                    "SELECT {cols} FROM signals WHERE professional_id = %s AND status = 'active'"
                    " ORDER BY signal_id FOR UPDATE"
                ),
                (from_professional_id,),
            )
        ).fetchall()
        signals = [_signal(r) for r in rows]
        if not signals:
            return 0, 0
        held = {
            r[0]
            for r in await (
                await conn.execute(
                    "SELECT pseudonym FROM signals WHERE professional_id = %s AND status = 'active'"
                    " AND pseudonym = ANY(%s)",
                    (to.professional_id, [s.pseudonym for s in signals]),
                )
            ).fetchall()
        }
        moved = [domain.transferred(s, to) for s in signals if s.pseudonym not in held]
        ended = [s for s in signals if s.pseudonym in held]
        for s in moved:
            await conn.execute(
                "UPDATE signals SET professional_id = %s, contact_name = %s, contact_role = %s,"
                " contact_phone = %s, contact_email = %s, version = %s WHERE signal_id = %s",
                (to.professional_id, to.name, to.role, to.phone, to.email, s.version, s.signal_id),
            )
            event = convert.signal_event(s, pb.SIGNAL_EVENT_KIND_TRANSFERRED, now)
            event.transferred_from_professional_id = from_professional_id
            await outbox.enqueue(conn, [MATCH], event.SerializeToString())
        await processing_log.write(
            conn, logbook.RESOURCE, logbook.transferred(moved, from_professional_id), now
        )
        await endings.archive(conn, ended, domain.EndReason.OTHER, now)
    return len(moved), len(ended)


def organisation_of(raw: Any) -> domain.Organisation:
    """The minimal organisation a contact is validated against (only its id matters)."""
    return domain.Organisation(
        organisation_id=raw.strip(),
        name="",
        legal_basis=domain.LegalBasis.CONSENT,
        legal_ground="",
        domains=(),
        may_coordinate=False,
    )
