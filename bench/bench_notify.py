"""Notification throughput: match events in, mails accepted by a real SMTP server out.

    .venv/bin/python -m bench.bench_notify [--events 500] [--recipients 2] [--batch 50]

Starts its own embedded PostgreSQL (.cache/bench-pg, throwaway settings), the devstack SMTP
server (aiosmtpd writing .eml files) and the real notify service in-process, pushes generated
MatchEvents over real gRPC in batches (as match's outbox relay does), and waits until every
mail has been accepted by SMTP.

Prints, from the same run:
- notifications handed to SMTP per second (first event pushed to last mail accepted), and
  p50/p99 latency from "event pushed" to "SMTP accepted" per mail; this includes the
  transaction that writes inbox items and deliveries, the queue, rendering and SMTP;
- the baseline: raw smtplib sends of the same number of mails (same size, one connection)
  to the same server, and the ratio.
The per-domain rate limit is set out of the way (it exists to slow bulk loads down on purpose).
"""

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import grpc
import psycopg
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb
from sluis.notify.v1 import notify_pb2_grpc as pb_grpc
from sluis.types.v1 import types_pb2

from devstack.fixtures import ServiceThread
from devstack.mailbox import Mailbox, SmtpServer
from devstack.postgres import EmbeddedPostgres
from devstack.redis import free_port
from services.common.db import migrate
from services.common.protos import to_timestamp
from services.notify.server import MIGRATIONS, NotifySettings, create_service


class TimedMailbox(Mailbox):
    """Remembers when SMTP accepted each Message-ID (first time)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.accepted_at: dict[str, float] = {}
        self._times_lock = threading.Lock()

    def store(self, raw: bytes) -> bool:
        at = time.perf_counter()
        head = raw[:4096].decode("utf-8", "replace")
        message_id = next(
            (
                line.split(":", 1)[1].strip()
                for line in head.splitlines()
                if line.lower().startswith("message-id:")
            ),
            "",
        )
        with self._times_lock:
            self.accepted_at.setdefault(message_id, at)
        return super().store(raw)


def contact(n: int) -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(
        professional_id=f"prof-{n}",
        name=f"Professional {n}",
        role="jeugdprofessional",
        phone=f"010-{n:07d}",
        email=f"prof{n}@org{n % 22}.example",
        organisation_id=f"org-{n % 22}",
        organisation_name=f"Organisatie {n % 22}",
    )


def make_events(count: int, recipients: int) -> list[match_pb2.MatchEvent]:
    events = []
    for i in range(count):
        people = [contact(i * recipients + r) for r in range(recipients)]
        events.append(
            match_pb2.MatchEvent(
                event_id=str(uuid.uuid4()),
                kind=match_pb2.MATCH_EVENT_KIND_CREATED,
                match_id=str(uuid.uuid4()),
                members=[
                    match_pb2.Member(professional=p, is_coordinator=j == 0) for j, p in enumerate(people)
                ],
                recipients=people,
                occurred_at=to_timestamp(datetime.now(UTC)),
            )
        )
    return events


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def raw_smtp(port: int, count: int, body_text: str, body_html: str) -> float:
    """Seconds for `count` plain smtplib sends over one connection."""
    import smtplib

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for i in range(count):
            msg = EmailMessage()
            msg["From"] = "SluiS <noreply@sluis.example>"
            msg["To"] = f"raw{i}@raw.example"
            msg["Subject"] = "SluiS: nieuwe match"
            msg["Message-ID"] = f"<raw-{i}-{uuid.uuid4()}@sluis.example>"
            msg.set_content(body_text)
            msg.add_alternative(body_html, subtype="html")
            smtp.send_message(msg)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--recipients", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="events per ApplyMatchEvents call")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smtp-batch", type=int, default=20)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="events/s to push at (0: all at once, a bulk load)"
    )
    args = parser.parse_args()
    mails = args.events * args.recipients

    pg = EmbeddedPostgres(Path(".cache/bench-pg"), throwaway=True).start()
    url = pg.create_database("bench_notify", drop_existing=True)
    migrate(url, MIGRATIONS)
    with tempfile.TemporaryDirectory() as tmp:
        mailbox = TimedMailbox(Path(tmp) / "mail")
        smtp = SmtpServer(mailbox, free_port()).start()
        settings = NotifySettings(
            region="bench",
            database_url=url,
            grpc_listen="127.0.0.1:0",
            smtp_port=smtp.port,
            workers=args.workers,
            batch_size=args.smtp_batch,
            poll_seconds=0.5,
            domain_rate=1e9,
            domain_burst=1e9,
            log_level="WARNING",
        )
        svc = ServiceThread(lambda: create_service(settings)).start()
        try:
            events = make_events(args.events, args.recipients)
            pushed_at: dict[str, float] = {}
            with grpc.insecure_channel(svc.address) as channel:
                stub = pb_grpc.NotifyServiceStub(channel)
                started = time.perf_counter()
                for i in range(0, len(events), args.batch):
                    chunk = events[i : i + args.batch]
                    t = time.perf_counter()
                    for e in chunk:
                        pushed_at[e.event_id] = t
                    stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=chunk), timeout=30)
                    if args.rate:
                        time.sleep(max(0.0, started + (i + len(chunk)) / args.rate - time.perf_counter()))
                push_seconds = time.perf_counter() - started
                deadline = time.monotonic() + 600
                while len(mailbox.accepted_at) < mails and time.monotonic() < deadline:
                    time.sleep(0.02)
                if len(mailbox.accepted_at) < mails:
                    raise SystemExit(f"only {len(mailbox.accepted_at)} of {mails} mails arrived")
            total = max(mailbox.accepted_at.values()) - started
            with psycopg.connect(url) as conn:
                event_of = {
                    f"<{r[0]}@sluis.example>": r[1]
                    for r in conn.execute(
                        "SELECT delivery_id, event_id FROM deliveries WHERE channel = 'email'"
                    )
                }
                sample = conn.execute("SELECT body_text, body_html FROM deliveries LIMIT 1").fetchone()
            latencies = [(at - pushed_at[event_of[mid]]) * 1000 for mid, at in mailbox.accepted_at.items()]
        finally:
            svc.stop()
        assert sample is not None
        raw_seconds = raw_smtp(smtp.port, mails, sample[0], sample[1])
        smtp.stop()
    pg.stop()

    notify_rate = mails / total
    raw_rate = mails / raw_seconds
    pace = f"paced at {args.rate:g} events/s" if args.rate else "pushed all at once"
    print(f"notify: {args.events} match events x {args.recipients} recipients = {mails} mails, {pace} "
          f"({args.batch} events per call, {args.workers} workers, {args.smtp_batch} mails per SMTP batch)")  # fmt: skip
    print(f"  events accepted over gRPC in {push_seconds:.2f} s ({args.events / push_seconds:,.0f} events/s)")
    print(f"  handed to SMTP: {notify_rate:,.0f} mails/s ({total:.2f} s for {mails})")
    print(
        f"  event -> SMTP accepted: p50 {statistics.median(latencies):,.0f} ms, p99 {percentile(latencies, 99):,.0f} ms"
    )
    print(
        f"baseline: raw smtplib, one connection, same server, same mail size: {raw_rate:,.0f} mails/s ({raw_seconds:.2f} s)"
    )
    print(f"ratio notify / raw SMTP: {notify_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
