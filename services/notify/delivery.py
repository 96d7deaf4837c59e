"""The delivery worker: takes due rows from the queue and hands them to SMTP or to a webhook.

Why PostgreSQL and not Redis Streams for the queue: the inbox item and the deliveries of an
event are written in ONE transaction with the idempotency record, so a replayed event can never
produce a second mail and a crash can never leave an inbox item without its mail (or the other
way round). A second system would need its own outbox to stay consistent with the first. The
volume (thousands of mails an hour at the peak of a bulk load) is far below what
`FOR UPDATE SKIP LOCKED` on an indexed table handles, and state, retries, dead letters and
statistics are plain SQL that operators can read. Redis is used only for what may be lost:
the shared token buckets of the per-domain rate limit (services.common.ratelimit).

Delivery is at least once, and no transaction is open while mail or webhooks are sent: a
worker claims a batch in one short transaction (the rows' next attempt moves a lease ahead,
SLUIS_NOTIFY_CLAIM_SECONDS), sends it, and records the outcomes in a second one. When the
process dies in between, the lease runs out and the batch is sent again with the same
Message-ID, so at most one batch (SLUIS_NOTIFY_BATCH_SIZE mails) per worker is handed to SMTP
twice and the receiving side can recognise the copies; nothing is lost. A slow SMTP server
can no longer outlast idle_in_transaction_session_timeout and cause a resend.
"""

import asyncio
import contextlib
import http.client
import logging
import smtplib
import ssl
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import StatusCode

from services.common import metrics, netguard, telemetry
from services.common.backoff import backoff
from services.common.clock import Clock
from services.common.ratelimit import AsyncRateLimiter
from services.notify import domain
from services.notify.store import CLAIM_LEASE, DueDelivery, NotifyStore, later

log = logging.getLogger("sluis.notify.delivery")


class Mailer:
    """smtplib in a worker thread: one connection per batch."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
        mail_from: str,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout, self.mail_from = starttls, timeout, mail_from
        self.ehlo_name = mail_from.rsplit("@", 1)[-1].strip(" >") or "sluis.example"

    def message(self, delivery: DueDelivery, now: datetime) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = (
            f'"{delivery.recipient_name}" <{delivery.address}>'
            if delivery.recipient_name
            else delivery.address
        )
        msg["Subject"] = delivery.subject
        msg["Date"] = formatdate(now.timestamp(), localtime=False)
        msg["Message-ID"] = domain.message_id(delivery.delivery_id)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(delivery.body_text)
        if delivery.body_html:
            msg.add_alternative(delivery.body_html, subtype="html")
        return msg

    def send_batch(self, messages: Sequence[EmailMessage]) -> list[domain.Outcome]:
        """Blocking: call through asyncio.to_thread."""
        outcomes: list[domain.Outcome] = []
        try:
            # A fixed EHLO name: smtplib would otherwise resolve our FQDN on every connection.
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.ehlo_name)
        except (OSError, smtplib.SMTPException) as exc:
            metrics.record_smtp_failure()
            return [domain.Outcome(ok=False, error=f"connect: {type(exc).__name__}")] * len(messages)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            for msg in messages:
                outcomes.append(self._send_one(smtp, msg))
                if not outcomes[-1].ok and outcomes[-1].error.startswith("connection"):
                    break
        except (OSError, smtplib.SMTPException) as exc:
            metrics.record_smtp_failure()
            outcomes.append(domain.Outcome(ok=False, error=f"session: {type(exc).__name__}"))
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        # Whatever was not tried (connection lost) is a transient failure.
        while len(outcomes) < len(messages):
            outcomes.append(domain.Outcome(ok=False, error="connection lost"))
        return outcomes[: len(messages)]

    @staticmethod
    def _send_one(smtp: smtplib.SMTP, msg: EmailMessage) -> domain.Outcome:
        try:
            refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(500 <= c < 600 for c in codes)
            return domain.Outcome(
                ok=False, error=f"recipient refused {codes[0] if codes else ''}", permanent=permanent
            )
        except smtplib.SMTPResponseException as exc:
            # Only the code: an SMTP reply text may quote the address.
            return domain.Outcome(
                ok=False, error=f"smtp {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600
            )
        except smtplib.SMTPNotSupportedError:
            # e.g. a non-ASCII address and a server without SMTPUTF8: retrying will not help
            return domain.Outcome(ok=False, error="smtputf8 not supported", permanent=True)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            return domain.Outcome(ok=False, error=f"connection {type(exc).__name__}")
        if refused:
            return domain.Outcome(ok=False, error="recipient refused", permanent=True)
        return domain.SENT_OUTCOME


class WebhookPoster:
    """POST the JSON body with a SluiS-Signature header (http.client in a worker thread).

    The host is resolved and checked at delivery time and the connection goes to exactly the
    checked address (services.common.netguard): a webhook can never reach an internal
    address, not even when its DNS answer changes after registration. Redirects are not
    followed."""

    def __init__(
        self, timeout: float, secret_key: bytes | None, allow: Sequence[netguard.IPNetwork] = ()
    ) -> None:
        self.timeout = timeout
        self.secret_key = secret_key
        self.allow = tuple(allow)

    def secret(self, delivery: DueDelivery) -> bytes | None:
        if delivery.webhook_secret is None:
            return None
        if delivery.secret_wrapped:
            if self.secret_key is None:
                return None
            return domain.unwrap_secret(self.secret_key, delivery.webhook_secret)
        return delivery.webhook_secret

    def post(self, delivery: DueDelivery, timestamp: int) -> domain.Outcome:
        """Blocking: call through asyncio.to_thread."""
        secret = self.secret(delivery)
        if secret is None:
            return domain.Outcome(ok=False, error="webhook deleted or secret unavailable", permanent=True)
        body = delivery.body_text.encode()
        try:
            conn = netguard.connection(delivery.address, self.timeout, self.allow)
        except netguard.UnsafeDestination as exc:
            # An internal address is refused for good; a name that does not resolve may recover.
            return domain.Outcome(
                ok=False, error=f"refused: {exc.reason}", permanent=exc.reason != "unresolvable"
            )
        parts = urlsplit(delivery.address)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SluiS-notify/1",
            domain.SIGNATURE_HEADER: domain.sign(secret, timestamp, body),
            "SluiS-Delivery": delivery.delivery_id,
        }
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read(1024)
            status = response.status
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return domain.Outcome(ok=False, error=f"connection {type(exc).__name__}")
        finally:
            conn.close()
        if 200 <= status < 300:
            return domain.SENT_OUTCOME
        # 4xx other than timeout/too-many is the receiver saying "never": no use retrying.
        # A redirect is not followed: it could point anywhere, so it is a failure too.
        permanent = 400 <= status < 500 and status not in (408, 425, 429)
        return domain.Outcome(ok=False, error=f"http {status}", permanent=permanent)


class DeliveryWorker:
    """Runs batches until none is due, then sleeps until woken, due, or the poll interval."""

    def __init__(
        self,
        store: NotifyStore,
        clock: Clock,
        mailer: Mailer,
        poster: WebhookPoster,
        limiter: AsyncRateLimiter,
        *,
        batch_size: int,
        max_attempts: int,
        retry_base: float,
        retry_cap: float,
        poll_seconds: float,
        claim_lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self.store, self.clock, self.mailer, self.poster, self.limiter = store, clock, mailer, poster, limiter
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.retry_base, self.retry_cap = retry_base, retry_cap
        self.poll_seconds = poll_seconds
        self.claim_lease = claim_lease
        self.wake = asyncio.Event()
        self._spans: dict[str, trace.Span] = {}

    def record(self, delivery: DueDelivery, outcome: domain.Outcome) -> tuple[str, int, datetime, str]:
        span = self._spans.pop(delivery.delivery_id, trace.INVALID_SPAN)
        span.set_attribute(
            "sluis.outcome", "sent" if outcome.ok else "deferred" if outcome.defer_seconds else "failed"
        )
        if not outcome.ok and not outcome.defer_seconds:
            span.set_status(StatusCode.ERROR, outcome.error)
        with trace.use_span(span, end_on_exit=True):
            return self._record(delivery, outcome)

    def _record(self, delivery: DueDelivery, outcome: domain.Outcome) -> tuple[str, int, datetime, str]:
        now = self.clock.now()
        state, attempts = domain.after_attempt(outcome, delivery.attempts, self.max_attempts)
        if outcome.defer_seconds > 0:
            return state, attempts, later(now, outcome.defer_seconds), ""
        if state == domain.RETRYING:
            wait = backoff(attempts, self.retry_base, self.retry_cap)
            log.info(
                "delivery failed, will retry",
                extra={"delivery_id": delivery.delivery_id, "channel": delivery.channel, "attempt": attempts,
                       "error": outcome.error},
            )  # fmt: skip
            return state, attempts, later(now, wait), outcome.error
        if state == domain.DEAD:
            log.warning(
                "delivery dead-lettered",
                extra={"delivery_id": delivery.delivery_id, "channel": delivery.channel, "target": delivery.target,
                       "attempts": attempts, "error": outcome.error},
            )  # fmt: skip
        return state, attempts, now, outcome.error

    async def handle(self, batch: list[DueDelivery]) -> list[domain.Outcome]:
        """Send a batch; each delivery is a span in the trace of the event that queued it, open
        until its outcome is recorded (so the retry and dead-letter log lines carry its ids)."""
        for d in batch:
            self._spans[d.delivery_id] = telemetry.start_span_from(
                f"notify deliver {d.channel}",
                d.origin,
                {"sluis.delivery_id": d.delivery_id, "sluis.kind": d.kind, "sluis.attempt": d.attempts + 1},
            )
        return await self._send(batch)

    async def _send(self, batch: list[DueDelivery]) -> list[domain.Outcome]:
        outcomes: dict[str, domain.Outcome] = {}
        mails: list[DueDelivery] = []
        hooks: list[DueDelivery] = []
        for delivery in batch:
            wait = await self.limiter.take(delivery.target)
            if wait > 0:
                outcomes[delivery.delivery_id] = domain.Outcome(ok=False, defer_seconds=wait)
            elif delivery.channel == domain.EMAIL:
                mails.append(delivery)
            else:
                hooks.append(delivery)
        now = self.clock.now()
        jobs: list[Any] = []
        if mails:
            messages = [self.mailer.message(d, now) for d in mails]
            jobs.append(asyncio.to_thread(self.mailer.send_batch, messages))
        # Wall-clock time, not the injected clock: the receiver checks it against its own clock.
        timestamp = int(time.time())
        jobs += [asyncio.to_thread(self.poster.post, d, timestamp) for d in hooks]
        results = await asyncio.gather(*jobs)
        if mails:
            for delivery, outcome in zip(mails, results[0], strict=True):
                outcomes[delivery.delivery_id] = outcome
            results = results[1:]
        for delivery, outcome in zip(hooks, results, strict=True):
            outcomes[delivery.delivery_id] = outcome
        return [outcomes[d.delivery_id] for d in batch]

    async def run_once(self) -> int:
        """One batch; the number of deliveries handled (0 when nothing was due)."""
        try:
            return await self.store.process_due(
                self.clock.now(),
                self.batch_size,
                self.handle,
                apply_outcome=self.record,
                lease=self.claim_lease,
            )
        finally:
            for span in self._spans.values():  # a batch that failed before its outcomes
                span.end()
            self._spans.clear()

    async def drain(self) -> int:
        total = 0
        while (n := await self.run_once()) > 0:
            total += n
        return total

    async def run(self) -> None:
        while True:
            self.wake.clear()
            await self.drain()
            delay = self.poll_seconds
            due_in = await self.store.next_due_in(self.clock.now())
            if due_in is not None:
                delay = min(delay, max(due_in, 0.01))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=delay)
