"""gRPC adapter of the notify service: requests to domain calls and back, nothing more.

See delivery.py for why the queue lives in PostgreSQL and how delivery stays exactly-once
from the reader's point of view (stable Message-ID, at most one batch handed over twice).
Over 500 lines because notify has many RPCs (events from two producers, inbox, webhooks,
preferences, dead letters); each handler stays a few lines over the domain and the store.
"""

import asyncio
import base64
import binascii
import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import grpc
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb
from sluis.notify.v1 import notify_pb2_grpc as pb_grpc
from sluis.signal.v1 import signal_pb2

from services.common import netguard, paging, processing_log, retention, telemetry
from services.common.clock import Clock, SystemClock
from services.common.config import ConfigError, ServiceSettings, setting
from services.common.contacts import Contact, contact_from_proto
from services.common.db import open_pool
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.grpcserver import GrpcService
from services.common.protos import from_timestamp, to_timestamp
from services.common.ratelimit import async_rate_limiter
from services.notify import accounts, domain, erasure
from services.notify.delivery import DeliveryWorker, Mailer, WebhookPoster
from services.notify.retention import RULES as RETENTION_RULES
from services.notify.store import InboxItem, NotifyStore, Planner, StoredWebhook

MIGRATIONS = [processing_log.MIGRATIONS, Path(__file__).parent / "migrations"]

log = logging.getLogger("sluis.notify")


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotifySettings(ServiceSettings):
    smtp_host: str = setting("SLUIS_SMTP_HOST", "127.0.0.1")
    smtp_port: int = setting("SLUIS_SMTP_PORT", 1025)
    smtp_user: str = setting("SLUIS_SMTP_USER", "")
    smtp_password: str = setting("SLUIS_SMTP_PASSWORD", "", secret=True)
    smtp_starttls: bool = setting("SLUIS_SMTP_STARTTLS", False)
    smtp_timeout_seconds: float = setting("SLUIS_SMTP_TIMEOUT_SECONDS", 10.0)
    mail_from: str = setting("SLUIS_MAIL_FROM", "SluiS <noreply@sluis.example>")
    portal_url: str = setting("SLUIS_PORTAL_URL", "http://127.0.0.1:8080")
    # Empty: rate-limit buckets in this process only (one replica).
    redis_url: str = setting("SLUIS_REDIS_URL", "")
    # base64 of 32 bytes; encrypts webhook signing secrets at rest. Empty: stored unencrypted.
    secret_key: str = setting("SLUIS_NOTIFY_SECRET_KEY", "", secret=True)
    batch_size: int = setting("SLUIS_NOTIFY_BATCH_SIZE", 20)
    workers: int = setting("SLUIS_NOTIFY_WORKERS", 2)
    poll_seconds: float = setting("SLUIS_NOTIFY_POLL_SECONDS", 1.0)
    # A claimed batch is resent after this long when its worker died (see delivery.py).
    claim_seconds: float = setting("SLUIS_NOTIFY_CLAIM_SECONDS", 120.0)
    max_attempts: int = setting("SLUIS_NOTIFY_MAX_ATTEMPTS", 8)
    retry_base_seconds: float = setting("SLUIS_NOTIFY_RETRY_BASE_SECONDS", 5.0)
    retry_cap_seconds: float = setting("SLUIS_NOTIFY_RETRY_CAP_SECONDS", 3600.0)
    webhook_timeout_seconds: float = setting("SLUIS_NOTIFY_WEBHOOK_TIMEOUT_SECONDS", 5.0)
    # Networks webhooks may reach although internal (e.g. "10.1.2.0/24,127.0.0.1"); every other
    # loopback, private, link-local or metadata address is refused (services.common.netguard).
    webhook_allow_networks: tuple[str, ...] = setting("SLUIS_WEBHOOK_ALLOW_NETWORKS", ())
    # Token bucket per recipient domain (mails per second, burst) so bulk loads do not flood.
    domain_rate: float = setting("SLUIS_NOTIFY_DOMAIN_RATE", 50.0)
    domain_burst: float = setting("SLUIS_NOTIFY_DOMAIN_BURST", 200.0)
    # Daily digest at this hour, Europe/Amsterdam.
    digest_hour: int = setting("SLUIS_NOTIFY_DIGEST_HOUR", 7)
    # Told when a person with active signals moves out of the region (BRP re-check); "" = nobody.
    region_admin_email: str = setting("SLUIS_NOTIFY_REGION_ADMIN_EMAIL", "")

    def secret_key_bytes(self) -> bytes | None:
        if not self.secret_key:
            return None
        try:
            key = base64.b64decode(self.secret_key, validate=True)
        except binascii.Error:
            raise ConfigError("SLUIS_NOTIFY_SECRET_KEY must be base64") from None
        if len(key) != 32:
            raise ConfigError("SLUIS_NOTIFY_SECRET_KEY must be 32 bytes (base64)")
        return key


# --- proto <-> domain ------------------------------------------------------------------------

_MATCH_KINDS = {
    match_pb2.MATCH_EVENT_KIND_CREATED: "match_created",
    match_pb2.MATCH_EVENT_KIND_MEMBER_JOINED: "member_joined",
    match_pb2.MATCH_EVENT_KIND_MEMBER_LEFT: "member_left",
    match_pb2.MATCH_EVENT_KIND_CLOSED: "match_closed",
    match_pb2.MATCH_EVENT_KIND_COORDINATOR_CHANGED: "coordinator_changed",
    match_pb2.MATCH_EVENT_KIND_HANDOVER_REQUESTED: "handover_requested",
    match_pb2.MATCH_EVENT_KIND_TAKEOVER_REQUESTED: "takeover_requested",
    match_pb2.MATCH_EVENT_KIND_TAKEOVER_DECLINED: "takeover_declined",
    match_pb2.MATCH_EVENT_KIND_HANDOVER_DECLINED: "handover_declined",
}
_DIGEST = {pb.DIGEST_IMMEDIATE: domain.DIGEST_IMMEDIATE, pb.DIGEST_DAILY: domain.DIGEST_DAILY}
_DIGEST_PB = {v: k for k, v in _DIGEST.items()}


def _occurred(ts: object, now: datetime) -> datetime:
    return from_timestamp(ts) or now  # type: ignore[arg-type]


def match_notice(event: match_pb2.MatchEvent, now: datetime) -> domain.Notice:
    notice = domain.Notice(
        event_id=event.event_id.strip(),
        kind=_MATCH_KINDS.get(event.kind, ""),
        occurred_at=_occurred(event.occurred_at, now),
        recipients=tuple(contact_from_proto(r) for r in event.recipients),
        match_id=event.match_id.strip(),
        members=tuple(
            domain.Member(contact_from_proto(m.professional), m.is_coordinator) for m in event.members
        ),
        subject=contact_from_proto(event.subject) if event.HasField("subject") else None,
        joined=tuple(contact_from_proto(c) for c in event.joined),
        left=tuple(contact_from_proto(c) for c in event.left),
        new_coordinator=(
            contact_from_proto(event.new_coordinator) if event.HasField("new_coordinator") else None
        ),
        offered=event.coordinator_offered,
        suggested=(
            contact_from_proto(event.handover_suggested_to)
            if event.HasField("handover_suggested_to")
            else None
        ),
        log_subjects=tuple((x.subject_id, x.subject_tag) for x in event.log_subjects if x.subject_tag),
        family=event.match_kind == match_pb2.MATCH_KIND_FAMILY,
    )
    domain.check_notice(notice)
    return notice


def signal_notice(
    event: signal_pb2.SignalEvent, now: datetime, region_admin: Contact | None = None
) -> domain.Notice | None:
    """A lapse reminder, archive, removal or moved-out notice; None for signal events notify does
    not tell about. A move out of the region also goes to the region admin, when one is configured."""
    aged_out = event.end_reason == signal_pb2.END_REASON_AGED_OUT
    recipients: tuple[Contact, ...] = (contact_from_proto(event.professional),)
    if event.kind == signal_pb2.SIGNAL_EVENT_KIND_LAPSING_SOON:
        kind = "signal_aging_out" if aged_out else "signal_lapsing"
    elif event.kind == signal_pb2.SIGNAL_EVENT_KIND_INFORMING_POSTPONED:
        kind = "informing_postponed"
    elif event.kind == signal_pb2.SIGNAL_EVENT_KIND_ENDED and (
        aged_out or event.end_reason == signal_pb2.END_REASON_EXPIRED
    ):
        kind = "signal_aged_out" if aged_out else "signal_archived"
    elif (
        event.kind == signal_pb2.SIGNAL_EVENT_KIND_ENDED
        and event.end_reason == signal_pb2.END_REASON_DECEASED
    ):
        kind = "signal_deceased"
    elif (
        event.kind == signal_pb2.SIGNAL_EVENT_KIND_DELETED
        and event.end_reason == signal_pb2.END_REASON_OBJECTION_UPHELD
    ):
        kind = "signal_removed"  # told why, without saying which (no signal id)
    elif event.kind == signal_pb2.SIGNAL_EVENT_KIND_MOVED_OUT:
        kind = "signal_moved_out"
        recipients += (region_admin,) if region_admin is not None else ()
    elif event.kind == signal_pb2.SIGNAL_EVENT_KIND_UNSPECIFIED:
        kind = ""  # malformed: check_notice refuses it
    else:
        return None
    notice = domain.Notice(
        event_id=event.event_id.strip(),
        kind=kind,
        occurred_at=_occurred(event.occurred_at, now),
        recipients=recipients,
        signal_id=event.signal_id.strip(),
        subject=recipients[0] if kind == "signal_moved_out" else None,
    )
    domain.check_notice(notice)
    return notice


def _inbox_pb(item: InboxItem) -> pb.InboxItem:
    return pb.InboxItem(
        item_id=item.item_id,
        kind=item.kind,
        title=item.title,
        body=item.body,
        match_id=item.match_id,
        signal_id=item.signal_id,
        created_at=to_timestamp(item.created_at),
        read_at=to_timestamp(item.read_at),
    )


def _webhook_pb(hook: StoredWebhook) -> pb.Webhook:
    return pb.Webhook(
        webhook_id=hook.webhook_id,
        organisation_id=hook.organisation_id,
        url=hook.url,
        kinds=list(hook.kinds),
        created_at=to_timestamp(hook.created_at),
    )


def _require(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument("missing_field", f"Het veld {field} ontbreekt.", field=field)
    return value


# --- the servicer ----------------------------------------------------------------------------


_ACCOUNT_KINDS = {
    pb.ACCOUNT_MAIL_KIND_INVITATION: accounts.INVITATION,
    pb.ACCOUNT_MAIL_KIND_RESET: accounts.RESET,
    pb.ACCOUNT_MAIL_KIND_CONFIRM_EMAIL: accounts.CONFIRM_EMAIL,
    pb.ACCOUNT_MAIL_KIND_CHANGED: accounts.CHANGED,
}


class NotifyServicer(pb_grpc.NotifyServiceServicer):
    def __init__(
        self,
        store: NotifyStore,
        settings: NotifySettings,
        clock: Clock,
        workers: Sequence[DeliveryWorker] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.workers = list(workers)
        self.secret_key = settings.secret_key_bytes()
        self.webhook_allow = netguard.parse_allow_list(settings.webhook_allow_networks)
        self.region_admin = (
            Contact(domain.REGION_ADMIN_ID, name="Regiobeheerder", email=settings.region_admin_email)
            if settings.region_admin_email
            else None
        )

    def _wake(self) -> None:
        for worker in self.workers:
            worker.wake.set()

    def _planner(self, now: datetime) -> Planner:
        def planner(
            notice: domain.Notice, daily: set[str], hooks: Sequence[domain.WebhookTarget]
        ) -> tuple[list[domain.InboxRow], list[domain.DeliveryRow]]:
            inbox, deliveries = domain.plan(
                notice, now=now, portal_url=self.settings.portal_url, daily_digest=daily, webhooks=hooks
            )
            for row in deliveries:
                if row.last_error == domain.INVALID_ADDRESS:
                    # The organisation's admin sees it in its dead letters; never the address here.
                    log.warning(
                        "recipient has no valid e-mail address; mail dead-lettered",
                        extra={"event_id": notice.event_id, "professional_id": row.recipient,
                               "organisation_id": row.organisation_id},
                    )  # fmt: skip
            return inbox, deliveries

        return planner

    async def _apply(self, notices: list[domain.Notice], total: int) -> tuple[int, int]:
        now = self.clock.now()
        accepted, duplicates = await self.store.apply(notices, now, self._planner(now))
        if accepted:
            self._wake()
        # Events notify has nothing to say about count as accepted: they were handled.
        return accepted + (total - len(notices)), duplicates

    async def _apply_by_origin(
        self,
        events: Sequence[match_pb2.MatchEvent | signal_pb2.SignalEvent],
        notices: list[domain.Notice | None],
    ) -> tuple[int, int]:
        """Apply run by run of events from one origin, each run in its registration's trace, so
        the inbox items and queued deliveries it writes belong to that trace."""
        accepted = duplicates = 0
        origins = [(e.traceparent, e.tracestate) for e in events]
        for start, end in telemetry.runs_by_origin(origins):
            run = [n for n in notices[start:end] if n is not None]
            with telemetry.continue_trace(
                "notify apply events", origins[start], {"sluis.events": end - start}
            ):
                a, d = await self._apply(run, end - start)
            accepted += a
            duplicates += d
        return accepted, duplicates

    async def ApplyMatchEvents(
        self, request: pb.ApplyMatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplyMatchEventsResponse:
        domain.check_event_batch(len(request.events))
        now = self.clock.now()
        # Every event is checked before anything is written: one bad event queues nothing.
        events = list(request.events)
        notices = [None if erasure.is_erasure(e) else match_notice(e, now) for e in events]
        # ERASED events (services/notify/erasure.py) are applied in their place in the order,
        # each run in the trace of the match change that caused it.
        accepted = duplicates = start = 0
        for erasing, run in erasure.runs(events):
            end = start + len(run)
            if erasing:
                origin = (run[0].traceparent, run[0].tracestate)
                with telemetry.continue_trace("notify erase", origin, {"sluis.events": len(run)}):
                    a, d = await erasure.erase(self.store.pool, [erasure.erasure_of(e) for e in run], now)
            else:
                a, d = await self._apply_by_origin(run, notices[start:end])
            accepted, duplicates, start = accepted + a, duplicates + d, end
        return pb.ApplyMatchEventsResponse(accepted=accepted, duplicates=duplicates)

    async def ApplySignalEvents(
        self, request: pb.ApplySignalEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplySignalEventsResponse:
        domain.check_event_batch(len(request.events))
        now = self.clock.now()
        notices = [signal_notice(e, now, self.region_admin) for e in request.events]
        accepted, duplicates = await self._apply_by_origin(request.events, notices)
        return pb.ApplySignalEventsResponse(accepted=accepted, duplicates=duplicates)

    async def ListInbox(
        self, request: pb.ListInboxRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInboxResponse:
        professional_id = _require(request.professional_id, "professional_id")
        size = paging.page_size(request.page_size)
        items, unread = await self.store.list_inbox(
            professional_id,
            unread_only=request.unread_only,
            limit=size + 1,
            after=paging.parse_keyset_token(request.page_token),
        )
        last = items[size - 1] if len(items) > size else None
        token = paging.keyset_token(last.created_at, last.item_id) if last is not None else ""
        return pb.ListInboxResponse(
            items=[_inbox_pb(i) for i in items[:size]], next_page_token=token, unread_count=unread
        )

    async def MarkInboxItemRead(
        self, request: pb.MarkInboxItemReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkInboxItemReadResponse:
        professional_id = _require(request.professional_id, "professional_id")
        item = await self.store.mark_read(professional_id, request.item_id.strip(), self.clock.now())
        if item is None:
            # Somebody else's item gets exactly the answer of a missing one.
            raise NotFound("inbox_item_not_found", "Dit bericht bestaat niet.")
        return pb.MarkInboxItemReadResponse(item=_inbox_pb(item))

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPreferencesResponse:
        professional_id = _require(request.professional_id, "professional_id")
        digest = await self.store.get_digest(professional_id)
        return pb.GetPreferencesResponse(
            preferences=pb.Preferences(professional_id=professional_id, digest=_DIGEST_PB[digest])
        )

    async def SetPreferences(
        self, request: pb.SetPreferencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetPreferencesResponse:
        professional_id = _require(request.preferences.professional_id, "professional_id")
        digest = _DIGEST.get(request.preferences.digest)
        if digest is None:
            raise InvalidArgument("invalid_digest", "Kies direct of een dagelijkse samenvatting.")
        await self.store.set_digest(professional_id, digest, self.clock.now())
        self._wake()
        return pb.SetPreferencesResponse(
            preferences=pb.Preferences(professional_id=professional_id, digest=_DIGEST_PB[digest])
        )

    async def SetWebhook(
        self, request: pb.SetWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetWebhookResponse:
        hook = request.webhook
        organisation_id = _require(hook.organisation_id, "organisation_id")
        url = hook.url.strip()
        domain.check_webhook_url(url)
        # Registration check (again at every delivery): no internal or metadata addresses.
        await asyncio.to_thread(netguard.check_url, url, self.webhook_allow)
        kinds = sorted(set(hook.kinds))
        domain.check_webhook_kinds(kinds)
        secret = request.secret.encode() if request.secret else None
        if secret is not None and not 16 <= len(secret) <= 512:
            raise InvalidArgument("invalid_secret", "Het webhookgeheim moet 16 tot 512 tekens lang zijn.")
        stored_secret = secret
        if secret is not None and self.secret_key is not None:
            stored_secret = domain.wrap_secret(self.secret_key, secret)
        wrapped = self.secret_key is not None
        now = self.clock.now()
        if hook.webhook_id:
            updated = await self.store.update_webhook(
                organisation_id, hook.webhook_id, url, kinds, stored_secret, wrapped
            )
            if updated is None:
                raise NotFound("webhook_not_found", "Deze webhook bestaat niet.")
            return pb.SetWebhookResponse(webhook=_webhook_pb(updated))
        if stored_secret is None:
            raise InvalidArgument("missing_field", "Het veld secret ontbreekt.", field="secret")
        if await self.store.count_webhooks(organisation_id) >= domain.MAX_WEBHOOKS_PER_ORGANISATION:
            raise FailedPrecondition(
                "too_many_webhooks",
                f"Maximaal {domain.MAX_WEBHOOKS_PER_ORGANISATION} webhooks per organisatie.",
            )
        created = await self.store.insert_webhook(organisation_id, url, kinds, stored_secret, wrapped, now)
        return pb.SetWebhookResponse(webhook=_webhook_pb(created))

    async def ListWebhooks(
        self, request: pb.ListWebhooksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWebhooksResponse:
        organisation_id = _require(request.organisation_id, "organisation_id")
        hooks = await self.store.list_webhooks(organisation_id)
        return pb.ListWebhooksResponse(webhooks=[_webhook_pb(h) for h in hooks])

    async def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteWebhookResponse:
        organisation_id = _require(request.organisation_id, "organisation_id")
        if not await self.store.delete_webhook(organisation_id, request.webhook_id.strip()):
            raise NotFound("webhook_not_found", "Deze webhook bestaat niet.")
        return pb.DeleteWebhookResponse()

    async def GetDeliveryStats(
        self, request: pb.GetDeliveryStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDeliveryStatsResponse:
        counts = await self.store.stats()
        return pb.GetDeliveryStatsResponse(
            counts=[pb.DeliveryCount(channel=c, state=s, count=n) for c, s, n in counts]
        )

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeadLettersResponse:
        size = paging.page_size(request.page_size)
        offset = paging.parse_offset_token(request.page_token)
        rows = await self.store.dead_letters(size + 1, offset, request.organisation_id.strip())
        return pb.ListDeadLettersResponse(
            dead_letters=[
                pb.DeadLetter(
                    delivery_id=r.delivery_id,
                    channel=r.channel,
                    target=r.target,
                    attempts=r.attempts,
                    last_error=r.last_error,
                    created_at=to_timestamp(r.created_at),
                    organisation_id=r.organisation_id,
                    professional_id=r.professional_id,
                )
                for r in rows[:size]
            ],
            next_page_token=paging.offset_token(offset + size) if len(rows) > size else "",
        )

    async def RetryDeadLetter(
        self, request: pb.RetryDeadLetterRequest, context: grpc.aio.ServicerContext
    ) -> pb.RetryDeadLetterResponse:
        if not await self.store.retry_dead(request.delivery_id.strip(), self.clock.now()):
            raise NotFound("dead_letter_not_found", "Deze onbestelbare melding bestaat niet.")
        self._wake()
        return pb.RetryDeadLetterResponse()

    # --- scheduled ----------------------------------------------------------------------------

    async def SendAccountMail(
        self, request: pb.SendAccountMailRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendAccountMailResponse:
        kind = _ACCOUNT_KINDS.get(request.kind, "")
        mail_id = _require(request.mail_id, "mail_id")[:64]
        accounts.check(kind, request.recipient_email, request.link)
        mail = accounts.render(
            kind,
            request.recipient_name[:200],
            request.link,
            request.organisation_name[:200],
            request.valid_until[:64],
        )
        row = accounts.delivery(
            mail_id, kind, request.recipient_email, request.recipient_name[:200], mail, self.clock.now()
        )
        queued = await self.store.queue_account_mail(row)
        if queued:
            self._wake()
        return pb.SendAccountMailResponse(queued=queued)

    async def ListProcessingLog(
        self, request: pb.ListProcessingLogRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProcessingLogResponse:
        tags = [t for t in request.subject_tags if t]
        if not tags:
            raise InvalidArgument("missing_field", "Het veld subject_tags ontbreekt.", field="subject_tags")
        if len(tags) > 100:
            raise InvalidArgument(
                "too_many_tags", "Hoogstens 100 kenmerken per verzoek.", field="subject_tags"
            )
        return pb.ListProcessingLogResponse(lines=await self.store.processing_log(tags))

    async def run_digests(self) -> int:
        """Send the daily summaries that are due (idempotent: held mails are folded only once)."""
        now = self.clock.now()
        cutoff = domain.last_digest_moment(now, self.settings.digest_hour)

        def render(name: str, summaries: list[str]) -> domain.Mail:
            return domain.render_digest(name, summaries, self.settings.portal_url)

        made = await self.store.fold_digests(now, cutoff, render)
        if made:
            self._wake()
        return made


async def create_service(settings: NotifySettings, *, clock: Clock | None = None) -> GrpcService:
    clock = clock or SystemClock()
    service = GrpcService("notify", settings)
    pool = await open_pool(
        settings.database_url,
        name="notify",
        max_size=settings.db_pool_max,
        timeout=settings.db_pool_timeout_seconds,
    )
    service.add_closer(pool.close)
    store = NotifyStore(pool)
    # One bucket per recipient domain, shared by every replica through Redis when configured.
    limiter = async_rate_limiter(
        settings.redis_url, settings.domain_rate, settings.domain_burst, prefix="sluis:notify:bucket:"
    )
    service.add_closer(limiter.close)
    mailer = Mailer(
        settings.smtp_host,
        settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
        mail_from=settings.mail_from,
    )
    poster = WebhookPoster(
        settings.webhook_timeout_seconds,
        settings.secret_key_bytes(),
        netguard.parse_allow_list(settings.webhook_allow_networks),
    )
    workers = [
        DeliveryWorker(
            store,
            clock,
            mailer,
            poster,
            limiter,
            batch_size=settings.batch_size,
            max_attempts=settings.max_attempts,
            retry_base=settings.retry_base_seconds,
            retry_cap=settings.retry_cap_seconds,
            poll_seconds=settings.poll_seconds,
            claim_lease=timedelta(seconds=settings.claim_seconds),
        )
        for _ in range(max(1, settings.workers))
    ]
    servicer = NotifyServicer(store, settings, clock, workers)
    service.add_servicer(
        pb_grpc.add_NotifyServiceServicer_to_server, servicer, "sluis.notify.v1.NotifyService"
    )
    for worker in workers:
        service.add_background(worker.run)

    async def digests() -> None:
        while True:
            await servicer.run_digests()
            await asyncio.sleep(60)

    service.add_background(digests)
    if settings.retention_interval_seconds > 0:
        service.add_background(
            lambda: retention.run_every(
                store.pool, "notify", RETENTION_RULES, clock, settings.retention_interval_seconds
            )
        )
    # Tests and operators reach the jobs through the service object.
    service.notify = servicer  # type: ignore[attr-defined]
    service.notify_workers = workers  # type: ignore[attr-defined]
    return service
