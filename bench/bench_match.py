"""Matching throughput: signal events per second through the real match service.

    .venv/bin/python -m bench.bench_match [--people 100000] [--batch 500] [--senders 1]

Starts its own embedded PostgreSQL (.cache/bench-pg, throwaway settings), runs the real
match service in-process over real gRPC with a no-op notify, and feeds generated
SignalEvents in batches (as signal's outbox relay does). A realistic spread of signals per
person: most 1, some 2-5, a few 6-19 and 20+, from 22 organisations, shuffled so that a
person's signals arrive in different batches.

Prints, from the same run:
- events/s through ApplySignalEvents (idempotency, per-person locks, matching, outbox);
- the raw insert rate of the same events into a plain table with COPY (the baseline: what
  PostgreSQL alone does with these rows), and the ratio;
- latency from "batch sent" to "match visible through GetInvolvement" for a sample of
  events that make or join a match (p50/p99). The signal service's own store-and-relay
  time is not part of this figure.
"""

import argparse
import queue
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
from google.protobuf.timestamp_pb2 import Timestamp
from sluis.match.v1 import match_pb2 as pb
from sluis.match.v1 import match_pb2_grpc as pb_grpc
from sluis.notify.v1 import notify_pb2, notify_pb2_grpc
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import types_pb2

from bench.profiling import postgres_cpu_seconds
from devstack.fixtures import ServiceThread
from devstack.postgres import EmbeddedPostgres
from services.common.config import ServiceSettings
from services.common.db import migrate
from services.common.grpcserver import GrpcService
from services.match.server import MIGRATIONS, MatchSettings, create_service

ORGANISATIONS = 22
PROFESSIONALS_PER_ORGANISATION = 100


class NoopNotify(notify_pb2_grpc.NotifyServiceServicer):
    """Accepts every MatchEvent and counts them."""

    def __init__(self) -> None:
        self.received = 0

    async def ApplyMatchEvents(self, request: Any, context: Any) -> notify_pb2.ApplyMatchEventsResponse:
        self.received += len(request.events)
        return notify_pb2.ApplyMatchEventsResponse(accepted=len(request.events))

    async def service(self) -> GrpcService:
        svc = GrpcService(
            "bench-notify", ServiceSettings(region="bench", database_url="", grpc_listen="127.0.0.1:0")
        )
        svc.add_servicer(
            notify_pb2_grpc.add_NotifyServiceServicer_to_server, self, "sluis.notify.v1.NotifyService"
        )
        return svc


def signals_per_person(rng: random.Random) -> int:
    """Most people 1 signal, some 2-5, a few 6-19, very few 20-40."""
    x = rng.random()
    if x < 0.85:
        return 1
    if x < 0.99:
        return rng.randint(2, 5)
    if x < 0.999:
        return rng.randint(6, 19)
    return rng.randint(20, 40)


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def generate(people: int, seed: int = 7) -> list[spb.SignalEvent]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for n in range(people):
        pseudonym = f"1.bench-{n:08d}"
        chosen: set[str] = set()
        for _ in range(signals_per_person(rng)):
            org = rng.randrange(ORGANISATIONS)
            prof = f"prof-{org:02d}-{rng.randrange(PROFESSIONALS_PER_ORGANISATION):03d}"
            if prof in chosen:
                continue
            chosen.add(prof)
            moment = start + timedelta(seconds=rng.randrange(86_400 * 300))
            events.append(
                spb.SignalEvent(
                    event_id=str(uuid.uuid4()),
                    kind=spb.SIGNAL_EVENT_KIND_REGISTERED,
                    signal_id=str(uuid.uuid4()),
                    signal_version=1,
                    pseudonym=pseudonym,
                    professional=types_pb2.ProfessionalContact(
                        professional_id=prof,
                        name=f"Professional {prof}",
                        role="hulpverlener",
                        phone="010-0000000",
                        email=f"{prof}@org{org}.example",
                        organisation_id=f"org-{org:02d}",
                        organisation_name=f"Organisatie {org}",
                    ),
                    may_coordinate=org % 3 != 0,
                    domains=["youth"] if org % 2 else ["debt"],
                    registered_at=ts(moment),
                    occurred_at=ts(moment),
                )
            )
    rng.shuffle(events)
    return events


def raw_insert_rate(url: str, events: list[spb.SignalEvent]) -> float:
    """Events per second when the same rows are simply COPYed into a plain table."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_events (event_id text, signal_id text, pseudonym text,"
            " professional_id text, name text, role text, phone text, email text, organisation_id text,"
            " organisation_name text, may_coordinate boolean, domains text[], registered_at timestamptz,"
            " version integer)"
        )
        conn.execute("TRUNCATE raw_events")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(0, len(events), 500):
                with cur.copy(
                    "COPY raw_events (event_id, signal_id, pseudonym, professional_id, name, role, phone, email,"
                    " organisation_id, organisation_name, may_coordinate, domains, registered_at, version)"
                    " FROM STDIN"
                ) as copy:
                    for e in events[i : i + 500]:
                        c = e.professional
                        copy.write_row(
                            (
                                e.event_id,
                                e.signal_id,
                                e.pseudonym,
                                c.professional_id,
                                c.name,
                                c.role,
                                c.phone,
                                c.email,
                                c.organisation_id,
                                c.organisation_name,
                                e.may_coordinate,
                                list(e.domains),
                                e.registered_at.ToDatetime(tzinfo=UTC),
                                e.signal_version,
                            )
                        )
                conn.commit()  # one transaction per batch, like the service
        return len(events) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--senders", type=int, default=1, help="concurrent ApplySignalEvents callers")
    parser.add_argument("--sample-every", type=int, default=1, help="check visibility after every n-th batch")
    parser.add_argument("--samples-per-batch", type=int, default=3)
    parser.add_argument("--notice-delay", type=float, default=2.0, help="SLUIS_MATCH_NOTICE_DELAY_SECONDS")
    args = parser.parse_args()

    print(f"generating events for {args.people:,} people ...", flush=True)
    events = generate(args.people)
    spread: dict[str, int] = defaultdict(int)
    for e in events:
        spread[e.pseudonym] += 1
    counts = list(spread.values())
    print(
        f"{len(events):,} signal events; signals per person: 1: {counts.count(1):,}, 2-5:"
        f" {sum(1 for c in counts if 2 <= c <= 5):,}, 6-19: {sum(1 for c in counts if 6 <= c <= 19):,},"
        f" 20+: {sum(1 for c in counts if c >= 20):,}",
        flush=True,
    )

    pg = EmbeddedPostgres(Path(".cache/bench-pg"), throwaway=True).start()
    url = pg.create_database("bench_match", drop_existing=True)
    migrate(url, MIGRATIONS)
    raw_url = pg.create_database("bench_raw", drop_existing=True)

    notify = NoopNotify()  # type: ignore[abstract]  # unused RPCs answer UNIMPLEMENTED
    notify_thread = ServiceThread(notify.service).start()
    settings = MatchSettings(
        region="bench",
        database_url=url,
        grpc_listen="127.0.0.1:0",
        notify_addr=notify_thread.address,
        log_level="WARNING",
        notice_delay_seconds=args.notice_delay,
    )
    match_thread = ServiceThread(lambda: create_service(settings)).start()
    channel = grpc.insecure_channel(
        match_thread.address, options=[("grpc.max_send_message_length", 16 * 1024 * 1024)]
    )
    stub = pb_grpc.MatchServiceStub(channel)

    # Which events make or join a match: after them the person has >= 2 organisations.
    orgs_seen: dict[str, set[str]] = defaultdict(set)
    makes_match: list[bool] = []
    for e in events:
        orgs = orgs_seen[e.pseudonym]
        orgs.add(e.professional.organisation_id)
        makes_match.append(len(orgs) >= 2)

    samples: queue.Queue[tuple[float, str, str] | None] = queue.Queue()
    latencies: list[float] = []

    def check_visibility() -> None:
        while (item := samples.get()) is not None:
            sent, pseudonym, prof = item
            request = pb.GetInvolvementRequest(pseudonym=pseudonym, professional_id=prof, purpose="bench")
            while True:
                try:
                    visible = stub.GetInvolvement(request, timeout=10).HasField("match")
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.NOT_FOUND:  # NOT_FOUND: not applied yet
                        raise
                    visible = False
                if visible:
                    latencies.append(time.perf_counter() - sent)
                    break
                # Every poll is a query in the measured service: 10 ms keeps them from
                # becoming a load of their own (1 ms did, issue 21) at a 10 ms resolution.
                time.sleep(0.01)

    checker = threading.Thread(target=check_visibility, daemon=True)
    checker.start()

    batches = [range(i, min(i + args.batch, len(events))) for i in range(0, len(events), args.batch)]
    applied = 0
    lock = threading.Lock()

    def send(numbered: tuple[int, range]) -> None:
        nonlocal applied
        n, idx = numbered
        sent = time.perf_counter()
        resp = stub.ApplySignalEvents(
            pb.ApplySignalEventsRequest(events=[events[i] for i in idx]), timeout=60
        )
        with lock:
            applied += resp.applied
        if n % args.sample_every == 0:
            chosen = [i for i in idx if makes_match[i]][: args.samples_per_batch]
            for i in chosen:
                samples.put((sent, events[i].pseudonym, events[i].professional.professional_id))

    print(f"feeding {len(batches):,} batches of {args.batch} with {args.senders} sender(s) ...", flush=True)
    started = time.perf_counter()
    cpu_started = time.process_time(), postgres_cpu_seconds(Path(".cache/bench-pg"))
    with ThreadPoolExecutor(max_workers=args.senders) as pool:
        for done, _ in enumerate(pool.map(send, enumerate(batches)), 1):
            if done % 50 == 0:
                rate = done * args.batch / (time.perf_counter() - started)
                print(f"  {done:,}/{len(batches):,} batches, {rate:,.0f} events/s", flush=True)
    elapsed = time.perf_counter() - started
    own_cpu = time.process_time() - cpu_started[0]
    pg_cpu = postgres_cpu_seconds(Path(".cache/bench-pg")) - cpu_started[1]
    samples.put(None)
    checker.join()
    rate = len(events) / elapsed

    with psycopg.connect(url) as conn:
        open_matches = conn.execute("SELECT count(*) FROM matches WHERE status = 'open'").fetchone()
    pending: tuple[int] | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            pending = conn.execute(
                "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM pending_notices)"
            ).fetchone()
        if pending is not None and pending[0] == 0:
            break
        time.sleep(0.2)

    print("measuring the raw COPY baseline with the same events ...", flush=True)
    raw = raw_insert_rate(raw_url, events)

    lat_ms = sorted(x * 1000 for x in latencies)
    p99 = lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))] if lat_ms else float("nan")
    print()
    print(f"people                     {args.people:,}")
    print(f"signal events              {len(events):,} (applied {applied:,})")
    print(f"open matches               {open_matches[0] if open_matches else 0:,}")
    print(
        f"match events to notify     {notify.received:,} (notice window {args.notice_delay:g} s;"
        f" left undelivered {pending[0] if pending else '?'})"
    )
    print(f"matching throughput        {rate:,.0f} events/s ({elapsed:.1f} s, batches of {args.batch})")
    print(
        f"CPU per event              {1000 * own_cpu / len(events):.3f} ms in this process (match, no-op"
        f" notify, sender), {1000 * pg_cpu / len(events):.3f} ms PostgreSQL"
    )
    print(f"raw COPY baseline          {raw:,.0f} events/s")
    print(f"ratio matching / raw       {rate / raw:.3f} ({raw / rate:.1f}x slower than plain inserts)")
    if lat_ms:
        print(
            f"sent -> match visible      p50 {statistics.median(lat_ms):.1f} ms, p99 {p99:.1f} ms,"
            f" max {lat_ms[-1]:.1f} ms ({len(lat_ms)} samples)"
        )

    channel.close()
    match_thread.stop()
    notify_thread.stop()
    pg.stop()


if __name__ == "__main__":
    main()
