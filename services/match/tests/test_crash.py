"""SIGKILL at any moment: after a restart and redelivery nothing is applied twice and every
MatchEvent is emitted exactly once per real change (redelivery of an event keeps its id)."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sluis.match.v1 import match_pb2 as pb
from sluis.match.v1 import match_pb2_grpc as pb_grpc
from sluis.signal.v1 import signal_pb2 as spb

from devstack.redis import free_port
from services.match.server import MIGRATIONS
from services.match.tests.fakes import RecordingNotify
from services.match.tests.helpers import event

ROOT = Path(__file__).resolve().parents[3]


def start_match(url: str, notify_address: str, port: int, notice_delay: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        SLUIS_REGION="test",
        SLUIS_DATABASE_URL=url,
        SLUIS_GRPC_LISTEN=f"127.0.0.1:{port}",
        SLUIS_NOTIFY_ADDR=notify_address,
        SLUIS_LOG_LEVEL="WARNING",
        SLUIS_MATCH_NOTICE_DELAY_SECONDS=notice_delay,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.match"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return proc
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("match did not start")
            time.sleep(0.1)


@pytest.mark.parametrize("notice_delay", ["0", "0.3"])
def test_sigkill_and_redelivery(new_database, run_service, notice_delay: str) -> None:
    notify = RecordingNotify.create()
    notify_svc = run_service(notify.service)
    url = new_database("match", MIGRATIONS)
    port = free_port()

    # 400 people: each gets signals of 3 organisations over several batches, then one ends.
    people = [f"1.crash-{n:04d}" for n in range(400)]
    first = [event("a", "o1", p) for p in people]
    second = [event("b", "o2", p, minute=1) for p in people]
    third = [event("c", "o3", p, minute=2) for p in people]
    ending = []
    for ev in first[::2]:
        end = pb.ApplySignalEventsRequest().events.add()
        end.CopyFrom(ev)
        end.event_id = ev.event_id + "-end"
        end.kind = spb.SIGNAL_EVENT_KIND_ENDED
        end.signal_version = 2
        ending.append(end)
    everything = first + second + third + ending
    batches = [everything[i : i + 100] for i in range(0, len(everything), 100)]

    def feed(stop_early: threading.Event | None = None) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.MatchServiceStub(channel)
            for batch in batches:
                if stop_early is not None and stop_early.is_set():
                    return
                for attempt in range(5):
                    try:
                        stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=batch), timeout=10)
                        break
                    except grpc.RpcError:
                        if stop_early is not None:
                            return  # the process was killed mid-call
                        # Redelivery, like the signal relay: a batch that timed out on a
                        # loaded machine is sent again, never skipped.
                        if attempt == 4:
                            raise

    proc = start_match(url, notify_svc.address, port, notice_delay)
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(stop,))
    feeder.start()
    time.sleep(0.4)  # let it get some way, then kill it in the middle of the work
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    feeder.join()

    proc = start_match(url, notify_svc.address, port, notice_delay)
    try:
        feed()  # the signal relay redelivers everything (at least once)
        feed()
        deadline = time.monotonic() + 30
        while True:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM pending_notices)"
                ).fetchone()
            if row == (0,):
                break
            assert time.monotonic() < deadline, "outbox not drained"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM processed_events").fetchone() == (len(everything),)
        assert conn.execute("SELECT count(*) FROM matches WHERE status = 'open'").fetchone() == (400,)
        assert conn.execute("SELECT count(*) FROM matches").fetchone() == (400,)
        members = conn.execute("SELECT count(*) FROM match_members WHERE left_at IS NULL").fetchone()
        assert members == (1000,)  # a left in half of the matches

    # Each distinct event id describes one real change; redeliveries repeat an id, never make a new one.
    events = {e.event_id: e for e in notify.snapshot()}
    by_match: dict[str, Counter[int]] = defaultdict(Counter)
    for e in events.values():
        by_match[e.match_id][e.kind] += 1
    assert len(by_match) == 400
    entries: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events.values():
        if e.kind == pb.MATCH_EVENT_KIND_CREATED:
            entries[e.match_id].update(r.professional_id for r in e.recipients)
        elif e.kind == pb.MATCH_EVENT_KIND_MEMBER_JOINED:
            entries[e.match_id][e.subject.professional_id] += 1
    for match_id, counts in by_match.items():
        assert counts[pb.MATCH_EVENT_KIND_CREATED] == 1
        assert counts[pb.MATCH_EVENT_KIND_CLOSED] == 0
        assert counts[pb.MATCH_EVENT_KIND_MEMBER_JOINED] <= 1
        assert counts[pb.MATCH_EVENT_KIND_MEMBER_LEFT] <= 1
        # Everybody is told of their own entry into the match exactly once.
        assert entries[match_id] == Counter({"a": 1, "b": 1, "c": 1})
    left = sum(c[pb.MATCH_EVENT_KIND_MEMBER_LEFT] for c in by_match.values())
    assert left == 200
