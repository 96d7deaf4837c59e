"""All SQL of the notify service: applied events, inbox, the delivery queue, preferences, webhooks.

Just over 500 lines on purpose: one module holds every query of the service (house style), so
the claim/send/record transactions of the queue are read next to the schema they rely on.
"""

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from services.common import processing_log, telemetry
from services.common.processing_log import Sealed
from services.notify import domain, logbook


@dataclasses.dataclass(frozen=True)
class InboxItem:
    item_id: str
    kind: str
    title: str
    body: str
    match_id: str
    signal_id: str
    created_at: datetime
    read_at: datetime | None


# How long a claimed delivery is left to its worker: longer than a batch takes to send
# (SMTP timeouts included). After a crash the batch is sent again once the lease has passed.
CLAIM_LEASE = timedelta(minutes=2)


@dataclasses.dataclass(frozen=True)
class DueDelivery:
    """A claimed row: no other worker takes it until its outcome is recorded or its lease ends."""

    delivery_id: str
    channel: str
    kind: str
    address: str
    target: str
    recipient_name: str
    subject: str
    body_text: str
    body_html: str
    attempts: int
    webhook_secret: bytes | None
    secret_wrapped: bool
    # (traceparent, tracestate) of the event that queued it: its sending joins that trace.
    origin: tuple[str, str] = ("", "")


@dataclasses.dataclass(frozen=True)
class StoredWebhook:
    webhook_id: str
    organisation_id: str
    url: str
    kinds: tuple[str, ...]
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class DeadLetterRow:
    delivery_id: str
    channel: str
    target: str
    attempts: int
    last_error: str
    created_at: datetime
    organisation_id: str = ""
    professional_id: str = ""


Planner = Callable[
    [domain.Notice, set[str], Sequence[domain.WebhookTarget]],
    tuple[list[domain.InboxRow], list[domain.DeliveryRow]],
]
Handler = Callable[[list[DueDelivery]], Awaitable[list[domain.Outcome]]]


def _inbox_item(row: tuple[Any, ...]) -> InboxItem:
    """From a row of item_id, kind, title, body, match_id, signal_id, created_at, read_at."""
    return InboxItem(str(row[0]), *row[1:])


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class NotifyStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    # --- events -------------------------------------------------------------------------------

    async def apply(
        self, notices: Sequence[domain.Notice], now: datetime, planner: Planner
    ) -> tuple[int, int]:
        """Inbox items and deliveries for every new event, in one transaction; (accepted, duplicates).

        A replayed event finds its events_applied row and adds nothing; the unique constraints on
        (event_id, recipient[, channel]) are the second guard.
        """
        unique: dict[str, domain.Notice] = {}
        for notice in notices:
            unique.setdefault(notice.event_id, notice)
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (
                await conn.execute(
                    "INSERT INTO events_applied (event_id, kind, applied_at)"
                    " SELECT e, k, %s FROM unnest(%s::text[], %s::text[]) AS t(e, k)"
                    " ON CONFLICT DO NOTHING RETURNING event_id",
                    (now, list(unique), [n.kind for n in unique.values()]),
                )
            ).fetchall()
            fresh = [unique[r[0]] for r in rows]
            if not fresh:
                return 0, len(notices)
            professionals = sorted({r.professional_id for n in fresh for r in n.recipients})
            organisations = sorted(
                {r.organisation_id for n in fresh for r in n.recipients if r.organisation_id}
            )
            daily = {
                r[0]
                for r in await (
                    await conn.execute(
                        "SELECT professional_id FROM preferences WHERE professional_id = ANY(%s) AND digest = 'daily'",
                        (professionals,),
                    )
                ).fetchall()
            }
            hooks = [
                domain.WebhookTarget(str(r[0]), r[1], r[2], tuple(r[3]))
                for r in await (
                    await conn.execute(
                        "SELECT webhook_id, organisation_id, url, kinds FROM webhooks WHERE organisation_id = ANY(%s)",
                        (organisations,),
                    )
                ).fetchall()
            ]
            inbox: list[domain.InboxRow] = []
            deliveries: list[domain.DeliveryRow] = []
            for notice in fresh:
                items, sends = planner(notice, daily, hooks)
                inbox += items
                deliveries += sends
            # The sending, maybe much later, continues the trace of the event that queued it.
            origin = telemetry.current_traceparent()
            about = {n.event_id: [Sealed(i, t) for i, t in n.log_subjects] for n in fresh if n.log_subjects}
            async with conn.cursor() as cur:
                if about:
                    # Kept for the lines of the sending and reading to come.
                    await cur.executemany(
                        "INSERT INTO notice_subjects (event_id, match_id, subject_id, subject_tag, created_at)"
                        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        [
                            (n.event_id, n.match_id, x.subject_id, x.tag, now)
                            for n in fresh
                            for x in about.get(n.event_id, ())
                        ],
                    )
                if inbox:
                    await cur.executemany(
                        "INSERT INTO inbox_items (item_id, professional_id, event_id, kind, title, body,"
                        " match_id, signal_id, created_at, organisation_id)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT (event_id, professional_id) DO NOTHING",
                        [dataclasses.astuple(i) for i in inbox],
                    )
                    # Each item created is a disclosure: its line commits with it.
                    await processing_log.write(
                        conn, logbook.RESOURCE, logbook.inbox_created(inbox, about), now
                    )
                if deliveries:
                    await cur.executemany(
                        "INSERT INTO deliveries (delivery_id, event_id, recipient, channel, kind, address, target,"
                        " recipient_name, subject, body_text, body_html, summary, state, next_attempt_at, created_at,"
                        " last_error, organisation_id, traceparent, tracestate)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT (event_id, recipient, channel) DO NOTHING",
                        [(*dataclasses.astuple(d), *origin) for d in deliveries],
                    )
        return len(fresh), len(notices) - len(fresh)

    # --- inbox --------------------------------------------------------------------------------

    async def list_inbox(
        self, professional_id: str, *, unread_only: bool, limit: int, after: tuple[datetime, str] | None
    ) -> tuple[list[InboxItem], int]:
        """Newest first, keyset-paged after (created_at, item_id); plus the unread count."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT item_id, kind, title, body, match_id, signal_id, created_at, read_at FROM inbox_items WHERE professional_id = %(p)s"
                " AND (NOT %(unread)s OR read_at IS NULL)"
                " AND (%(after_at)s::timestamptz IS NULL OR (created_at, item_id) < (%(after_at)s, %(after_id)s::uuid))"
                " ORDER BY created_at DESC, item_id DESC LIMIT %(limit)s",
                {
                    "p": professional_id,
                    "unread": unread_only,
                    "after_at": after[0] if after else None,
                    "after_id": after[1] if after else None,
                    "limit": limit,
                },
            )
            items = [_inbox_item(r) for r in await cur.fetchall()]
            count = await (
                await conn.execute(
                    "SELECT count(*) FROM inbox_items WHERE professional_id = %s AND read_at IS NULL",
                    (professional_id,),
                )
            ).fetchone()
        return items, int(count[0]) if count else 0

    async def mark_read(self, professional_id: str, item_id: str, now: datetime) -> InboxItem | None:
        """None when the item does not exist or belongs to somebody else (same answer)."""
        item_uuid = _uuid_or_none(item_id)
        if item_uuid is None:
            return None
        async with self.pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(
                    "UPDATE inbox_items SET read_at = coalesce(read_at, %s)"
                    " WHERE item_id = %s AND professional_id = %s RETURNING item_id, kind, title, body, match_id,"
                    " signal_id, created_at, read_at, event_id, organisation_id",
                    (now, item_uuid, professional_id),
                )
            ).fetchone()
            if row is None:
                return None
            # Reading the item discloses who is involved again: logged in the same transaction.
            subjects = await (
                await conn.execute(
                    "SELECT subject_id, subject_tag FROM notice_subjects WHERE event_id = %s ORDER BY subject_tag",
                    (row[8],),
                )
            ).fetchall()
            lines = logbook.inbox_read(
                [Sealed(bytes(r[0]), bytes(r[1])) for r in subjects],
                match_id=row[4],
                organisation_id=row[9],
                kind=row[1],
                professional_id=professional_id,
            )
            await processing_log.write(conn, logbook.RESOURCE, lines, now)
        return _inbox_item(row[:8])

    # --- the queue ----------------------------------------------------------------------------

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueDelivery]:
        """Claim due deliveries in one short transaction: their next attempt moves `lease` ahead,
        so no other worker takes them while they are sent. If this process dies before
        `record_outcomes`, the lease runs out and they are sent again (same Message-ID)."""
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (
                await conn.execute(
                    "SELECT d.delivery_id, d.channel, d.kind, d.address, d.target, d.recipient_name, d.subject,"
                    " d.body_text, d.body_html, d.attempts, w.secret, coalesce(w.secret_wrapped, false),"
                    " d.traceparent, d.tracestate"
                    " FROM deliveries d LEFT JOIN webhooks w"
                    "  ON d.channel = 'webhook' AND w.webhook_id::text = d.recipient"
                    " WHERE d.state IN ('queued', 'retrying') AND d.next_attempt_at <= %s"
                    " ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED",
                    (now, limit),
                )
            ).fetchall()
            if not rows:
                return []
            await conn.execute(
                "UPDATE deliveries SET next_attempt_at = %s WHERE delivery_id = ANY(%s)",
                (now + lease, [r[0] for r in rows]),
            )
        return [
            DueDelivery(
                str(r[0]),
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                bytes(r[10]) if r[10] else None,
                r[11],
                (r[12], r[13]),
            )
            for r in rows
        ]

    async def record_outcomes(
        self, now: datetime, updates: Sequence[tuple[str, str, int, datetime, str]]
    ) -> None:
        """Record (delivery id, state, attempts, next attempt, error) of sent or failed deliveries.

        Only rows still waiting are changed: when a lease ran out and another worker sent the
        delivery meanwhile, its outcome stands.
        """
        if not updates:
            return
        ids, states, attempts, next_ats, errors = (list(c) for c in zip(*updates, strict=True))
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE deliveries d SET state = u.state, attempts = u.attempts, next_attempt_at = u.next_at,"
                " last_error = u.error, sent_at = CASE WHEN u.state = 'sent' THEN %s ELSE d.sent_at END"
                " FROM unnest(%s::uuid[], %s::text[], %s::integer[], %s::timestamptz[], %s::text[])"
                " AS u(id, state, attempts, next_at, error)"
                " WHERE d.delivery_id = u.id AND d.state IN ('queued', 'retrying')"
                " RETURNING d.delivery_id, d.state",
                (now, ids, states, attempts, next_ats, errors),
            )
            sent = [r[0] for r in await cur.fetchall() if r[1] == "sent"]
            if sent:
                # Each mail or webhook that went out disclosed who is involved: one line per
                # person its notice is about (a digest: per mail folded into it).
                rows = await (
                    await conn.execute(
                        "SELECT d.channel, f.kind, d.recipient, coalesce(nullif(f.organisation_id, ''),"
                        " d.organisation_id), s.match_id, s.subject_id, s.subject_tag"
                        # The delivery itself and the ones folded into it (a digest): two index
                        # look-ups, where one join "ON … OR …" scanned every delivery per batch.
                        " FROM deliveries d CROSS JOIN LATERAL ("
                        "   SELECT x.kind, x.organisation_id, x.event_id, x.created_at FROM deliveries x"
                        "   WHERE x.delivery_id = d.delivery_id"
                        "   UNION ALL SELECT x.kind, x.organisation_id, x.event_id, x.created_at FROM deliveries x"
                        "   WHERE x.digest_id = d.delivery_id AND x.delivery_id <> d.delivery_id) f"
                        " JOIN notice_subjects s ON s.event_id = f.event_id"
                        " WHERE d.delivery_id = ANY(%s) ORDER BY d.delivery_id, f.created_at, s.subject_tag",
                        (sent,),
                    )
                ).fetchall()
                lines = [
                    logbook.sent(r[0], r[1], r[2], r[3], r[4], Sealed(bytes(r[5]), bytes(r[6]))) for r in rows
                ]
                await processing_log.write(conn, logbook.RESOURCE, lines, now)

    async def process_due(
        self,
        now: datetime,
        limit: int,
        handler: Handler,
        *,
        apply_outcome: Callable[[DueDelivery, domain.Outcome], tuple[str, int, datetime, str]],
        lease: timedelta = CLAIM_LEASE,
    ) -> int:
        """Claim due deliveries, hand them to `handler` with no transaction open (SMTP and
        webhooks may be slow), then record the outcomes in a second short transaction."""
        due = await self.claim_due(now, limit, lease)
        if not due:
            return 0
        outcomes = await handler(due)
        await self.record_outcomes(
            now,
            [
                (delivery.delivery_id, *apply_outcome(delivery, outcome))
                for delivery, outcome in zip(due, outcomes, strict=True)
            ],
        )
        return len(due)

    async def next_due_in(self, now: datetime) -> float | None:
        """Seconds until the next delivery is due (0 when overdue), None when nothing waits."""
        # Rows being sent by a worker count with the end of their lease (see claim_due).
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT next_attempt_at FROM deliveries WHERE state IN ('queued', 'retrying')"
                    " ORDER BY next_attempt_at LIMIT 1"
                )
            ).fetchone()
        if not row or row[0] is None:
            return None
        return max(0.0, (row[0] - now).total_seconds())

    # --- digests ------------------------------------------------------------------------------

    async def fold_digests(
        self, now: datetime, cutoff: datetime, render: Callable[[str, list[str]], domain.Mail]
    ) -> int:
        """One digest e-mail per professional for every held e-mail created before `cutoff`."""
        made = 0
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (
                await conn.execute(
                    "SELECT delivery_id, recipient, address, recipient_name, summary FROM deliveries"
                    " WHERE state = 'held' AND created_at <= %s ORDER BY recipient, created_at"
                    " FOR UPDATE SKIP LOCKED",
                    (cutoff,),
                )
            ).fetchall()
            by_professional: dict[str, list[tuple[uuid.UUID, str, str, str]]] = {}
            for delivery_id, recipient, address, name, summary in rows:
                by_professional.setdefault(recipient, []).append((delivery_id, address, name, summary))
            for professional_id, held in by_professional.items():
                digest_id = uuid.uuid4()
                _, address, name, _ = held[-1]
                mail = render(name, [h[3] for h in held])
                await conn.execute(
                    "INSERT INTO deliveries (delivery_id, event_id, recipient, channel, kind, address, target,"
                    " recipient_name, subject, body_text, body_html, summary, state, next_attempt_at, created_at)"
                    " VALUES (%s, %s, %s, 'email', 'digest', %s, %s, %s, %s, %s, %s, '', 'queued', %s, %s)",
                    (
                        digest_id,
                        f"digest:{digest_id}",
                        professional_id,
                        address,
                        domain.email_domain(address),
                        name,
                        mail.subject,
                        mail.text,
                        mail.html,
                        now,
                        now,
                    ),
                )
                await conn.execute(
                    "UPDATE deliveries SET state = 'digested', digest_id = %s WHERE delivery_id = ANY(%s)",
                    (digest_id, [h[0] for h in held]),
                )
                made += 1
        return made

    # --- preferences --------------------------------------------------------------------------

    async def get_digest(self, professional_id: str) -> str:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT digest FROM preferences WHERE professional_id = %s", (professional_id,)
                )
            ).fetchone()
        return str(row[0]) if row else domain.DIGEST_IMMEDIATE

    async def set_digest(self, professional_id: str, digest: str, now: datetime) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO preferences (professional_id, digest, updated_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (professional_id) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at",
                (professional_id, digest, now),
            )
            if digest == domain.DIGEST_IMMEDIATE:
                # Nothing waits for a digest the professional no longer wants.
                await conn.execute(
                    "UPDATE deliveries SET state = 'queued', next_attempt_at = %s"
                    " WHERE state = 'held' AND channel = 'email' AND recipient = %s",
                    (now, professional_id),
                )

    # --- webhooks -----------------------------------------------------------------------------

    async def count_webhooks(self, organisation_id: str) -> int:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM webhooks WHERE organisation_id = %s", (organisation_id,)
                )
            ).fetchone()
        return int(row[0]) if row else 0

    async def insert_webhook(
        self,
        organisation_id: str,
        url: str,
        kinds: Sequence[str],
        secret: bytes,
        wrapped: bool,
        now: datetime,
    ) -> StoredWebhook:
        webhook_id = uuid.uuid4()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO webhooks (webhook_id, organisation_id, url, kinds, secret, secret_wrapped, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (webhook_id, organisation_id, url, list(kinds), secret, wrapped, now),
            )
        return StoredWebhook(str(webhook_id), organisation_id, url, tuple(kinds), now)

    async def update_webhook(
        self,
        organisation_id: str,
        webhook_id: str,
        url: str,
        kinds: Sequence[str],
        secret: bytes | None,
        wrapped: bool,
    ) -> StoredWebhook | None:
        hook_uuid = _uuid_or_none(webhook_id)
        if hook_uuid is None:
            return None
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "UPDATE webhooks SET url = %s, kinds = %s,"
                    " secret = coalesce(%s, secret), secret_wrapped = CASE WHEN %s::bytea IS NULL"
                    "  THEN secret_wrapped ELSE %s END"
                    " WHERE webhook_id = %s AND organisation_id = %s RETURNING created_at",
                    (url, list(kinds), secret, secret, wrapped, hook_uuid, organisation_id),
                )
            ).fetchone()
        return StoredWebhook(webhook_id, organisation_id, url, tuple(kinds), row[0]) if row else None

    async def list_webhooks(self, organisation_id: str) -> list[StoredWebhook]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT webhook_id, organisation_id, url, kinds, created_at FROM webhooks"
                    " WHERE organisation_id = %s ORDER BY created_at, webhook_id",
                    (organisation_id,),
                )
            ).fetchall()
        return [StoredWebhook(str(r[0]), r[1], r[2], tuple(r[3]), r[4]) for r in rows]

    async def delete_webhook(self, organisation_id: str, webhook_id: str) -> bool:
        hook_uuid = _uuid_or_none(webhook_id)
        if hook_uuid is None:
            return False
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM webhooks WHERE webhook_id = %s AND organisation_id = %s",
                (hook_uuid, organisation_id),
            )
            return cur.rowcount > 0

    # --- operators ----------------------------------------------------------------------------

    async def stats(self) -> list[tuple[str, str, int]]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT channel, state, count(*) FROM deliveries GROUP BY channel, state ORDER BY channel, state"
                )
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def dead_letters(self, limit: int, offset: int, organisation_id: str = "") -> list[DeadLetterRow]:
        """Dead letters, oldest first; only one organisation's when `organisation_id` is given."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT delivery_id, channel, target, attempts, last_error, created_at, organisation_id,"
                    " CASE WHEN channel = 'email' THEN recipient ELSE '' END FROM deliveries"
                    " WHERE state = 'dead' AND (%(org)s = '' OR organisation_id = %(org)s)"
                    " ORDER BY created_at, delivery_id LIMIT %(limit)s OFFSET %(offset)s",
                    {"org": organisation_id, "limit": limit, "offset": offset},
                )
            ).fetchall()
        return [DeadLetterRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    async def retry_dead(self, delivery_id: str, now: datetime) -> bool:
        """Back into the queue with a fresh attempt budget; False when no such dead letter."""
        delivery_uuid = _uuid_or_none(delivery_id)
        if delivery_uuid is None:
            return False
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt_at = %s, last_error = ''"
                " WHERE delivery_id = %s AND state = 'dead'",
                (now, delivery_uuid),
            )
            return cur.rowcount > 0

    # --- processing log (services/notify/logbook.py) -------------------------------------------

    async def processing_log(self, tags: Sequence[bytes]) -> list[processing_log.pb.ProcessingLogLine]:
        """Every line about one person, found by their lookup tags (notify has no pseudonym)."""
        async with self.pool.connection() as conn:
            return await processing_log.read(conn, "", tags)

    # --- account mails (services/notify/accounts.py) -------------------------------------------

    async def queue_account_mail(self, row: domain.DeliveryRow) -> bool:
        """Queue one account mail; False when its event was applied before (a repeated call)."""
        origin = telemetry.current_traceparent()
        async with self.pool.connection() as conn, conn.transaction():
            fresh = await (
                await conn.execute(
                    "INSERT INTO events_applied (event_id, kind, applied_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING event_id",
                    (row.event_id, row.kind, row.created_at),
                )
            ).fetchone()
            if fresh is None:
                return False
            await conn.execute(
                "INSERT INTO deliveries (delivery_id, event_id, recipient, channel, kind, address, target,"
                " recipient_name, subject, body_text, body_html, summary, state, next_attempt_at, created_at,"
                " last_error, organisation_id, traceparent, tracestate)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (event_id, recipient, channel) DO NOTHING",
                (*dataclasses.astuple(row), *origin),
            )
        return True


def later(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
