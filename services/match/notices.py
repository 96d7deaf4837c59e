"""Match notices: creation and joining notices wait a short window to absorb a burst, any
other change goes straight to the outbox (see the notice rules in domain.py)."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg

from services.common import outbox, telemetry
from services.match import convert, domain, subjects

NOTIFY = "notify"


class Notices:
    """Writes a transaction's MatchEvents: to the outbox, or merged into a pending notice."""

    def __init__(self, delay: timedelta = timedelta(0)) -> None:
        # How long creation/joining notices wait to absorb a burst (0: straight to the outbox).
        self.delay = delay

    async def write(
        self,
        conn: psycopg.AsyncConnection,
        entries: list[tuple[str, Sequence[domain.Change], bool]],
        direct: list[tuple[str, Sequence[domain.Change], bool]],
        now: datetime,
    ) -> None:
        """Write the MatchEvents of these changes: to the outbox, or merged into a pending notice.

        Every event id is born in the transaction that makes the change: a crash before commit
        leaves no event; after commit it is delivered (with that id) until acknowledged.
        Creation/joining notices may wait in pending_notices; any other change of the same
        match first releases the pending notice, so notify sees the changes in order.
        """
        match_ids = [m for m, _, _ in entries] + [m for m, _, _ in direct]
        pending: dict[str, bytes] = {}
        pending_origin: dict[str, outbox.Origin] = {}
        if match_ids:
            # FOR UPDATE: the flusher skips a notice we are merging into, and we wait for (and
            # then no longer see) a notice the flusher is moving to the outbox.
            cur = await conn.execute(
                "SELECT match_id, payload, traceparent, tracestate FROM pending_notices"
                " WHERE match_id = ANY(%s::uuid[]) FOR UPDATE",
                (match_ids,),
            )
            for r in await cur.fetchall():
                pending[str(r[0])] = bytes(r[1])
                pending_origin[str(r[0])] = (r[2], r[3])
        # Who each notice is about, sealed into the event: notify logs its mails under them.
        about = await subjects.of_matches(conn, [c.match for _, cs, _ in (*entries, *direct) for c in cs])
        # A notice released here keeps the trace of the change that wrote it.
        here = telemetry.current_traceparent()
        payloads: list[bytes] = []
        origins: list[outbox.Origin] = []
        released: list[str] = []
        for match_id, changes, bulk in direct:
            if match_id in pending:
                payloads.append(pending.pop(match_id))
                origins.append(pending_origin[match_id])
                released.append(match_id)
            payloads += [
                convert.change_to_event(c, str(uuid.uuid4()), now, bulk, about[c.match.match_id])
                for c in changes
            ]
            origins += [here] * len(changes)
        merged: list[tuple[bytes, str]] = []
        fresh: list[tuple[str, bytes, datetime]] = []
        for match_id, changes, bulk in entries:
            for change in changes:
                if match_id in pending:
                    pending[match_id] = convert.merge_entry_event(
                        pending[match_id], change, bulk, about[change.match.match_id]
                    )
                    merged.append((pending[match_id], match_id))
                else:
                    pending[match_id] = convert.change_to_event(
                        change, str(uuid.uuid4()), now, bulk, about[change.match.match_id]
                    )
                    fresh.append((match_id, pending[match_id], now + self.delay))
        fresh_ids = {m for m, _, _ in fresh}
        cur = conn.cursor()
        if released:
            await cur.execute("DELETE FROM pending_notices WHERE match_id = ANY(%s::uuid[])", (released,))
        if fresh:
            await cur.executemany(
                "INSERT INTO pending_notices (match_id, payload, due_at, traceparent, tracestate)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(m, pending[m], due, *here) for m, _, due in fresh],
            )
        updates = [(p, m) for p, m in merged if m not in fresh_ids]
        if updates:
            await cur.executemany("UPDATE pending_notices SET payload = %s WHERE match_id = %s", updates)
        await outbox.enqueue_many(conn, [NOTIFY], payloads, origins)
