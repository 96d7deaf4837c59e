"""The match service over real gRPC with real PostgreSQL and a recording fake of notify."""

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import grpc
import psycopg
import pytest
from sluis.match.v1 import match_pb2 as pb
from sluis.match.v1 import match_pb2_grpc as pb_grpc
from sluis.signal.v1 import signal_pb2 as spb

from services.common.clock import FrozenClock
from services.match import domain
from services.match.server import MIGRATIONS, MatchSettings, create_service
from services.match.tests.fakes import RecordingNotify
from services.match.tests.helpers import DELETED, T0, ended, event


def person() -> str:
    return f"1.{uuid.uuid4().hex}"


@dataclass
class Harness:
    stub: pb_grpc.MatchServiceStub
    notify: RecordingNotify
    url: str
    clock: FrozenClock

    def apply(self, *events: spb.SignalEvent) -> pb.ApplySignalEventsResponse:
        return self.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=list(events)), timeout=10)

    def involvement(self, pseudonym: str, prof: str, purpose: str = "portal") -> pb.GetInvolvementResponse:
        return self.stub.GetInvolvement(
            pb.GetInvolvementRequest(pseudonym=pseudonym, professional_id=prof, purpose=purpose), timeout=5
        )

    def events_for(self, match_id: str) -> list[pb.MatchEvent]:
        return [e for e in self.notify.snapshot() if e.match_id == match_id]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.02)

    def outbox_empty(self) -> bool:
        """Nothing left to deliver: no pending notice, no outbox row."""
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM pending_notices)"
            ).fetchone()
        return row is not None and row[0] == 0

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture
def make_harness(new_database, run_service) -> Iterator[Callable[[float], Harness]]:
    """A match service (frozen clock) with a recording notify; `notice_delay` in seconds."""
    channels: list[grpc.Channel] = []

    def make(notice_delay: float = 0.0, **overrides: Any) -> Harness:
        notify = RecordingNotify.create()
        notify_svc = run_service(notify.service)
        url = new_database("match", MIGRATIONS)
        clock = FrozenClock(T0 + timedelta(days=1))
        settings = MatchSettings(
            region="test",
            database_url=url,
            grpc_listen="127.0.0.1:0",
            notify_addr=notify_svc.address,
            notice_delay_seconds=notice_delay,
            **overrides,
        )
        svc = run_service(lambda: create_service(settings, clock=clock))
        channel = grpc.insecure_channel(svc.address)
        channels.append(channel)
        return Harness(pb_grpc.MatchServiceStub(channel), notify, url, clock)

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture
def harness(make_harness: Callable[[float], Harness]) -> Harness:
    return make_harness(0.0)


def kinds(events: list[pb.MatchEvent]) -> list[int]:
    return [e.kind for e in events]


def recipient_ids(ev: pb.MatchEvent) -> list[str]:
    return sorted(r.professional_id for r in ev.recipients)


# --- the core flow ---------------------------------------------------------------------------


def test_two_organisations_make_a_match_and_notify_is_told(harness: Harness) -> None:
    p = person()
    resp = harness.apply(event("a", "o1", p), event("b", "o2", p, minute=1))
    assert (resp.applied, resp.duplicates) == (2, 0)
    match = harness.involvement(p, "a").match
    assert match.status == pb.MATCH_STATUS_OPEN
    assert sorted(m.professional.professional_id for m in match.members) == ["a", "b"]
    assert match.coordinator_professional_id == "a"
    events = harness.wait_for(lambda: harness.events_for(match.match_id))
    assert kinds(events) == [pb.MATCH_EVENT_KIND_CREATED]
    assert recipient_ids(events[0]) == ["a", "b"]
    assert events[0].subject.professional_id == "a"
    assert sum(m.is_coordinator for m in events[0].members) == 1
    harness.wait_for(harness.outbox_empty)


def test_one_organisation_is_no_match(harness: Harness) -> None:
    p = person()
    harness.apply(event("a", "o1", p), event("b", "o1", p, minute=1))
    resp = harness.involvement(p, "a")
    assert not resp.HasField("match")
    assert [m.professional.professional_id for m in resp.others] == ["b"]
    assert harness.sql("SELECT count(*) FROM matches") == [(0,)]


def test_redelivery_and_stale_events_are_not_applied_twice(harness: Harness) -> None:
    p = person()
    a, b = event("a", "o1", p), event("b", "o2", p, minute=1)
    harness.apply(a, b)
    again = harness.apply(a, b, a)
    assert (again.applied, again.duplicates) == (0, 3)
    # An older version under a new event id (e.g. re-emitted) changes nothing either.
    stale = spb.SignalEvent()
    stale.CopyFrom(a)
    stale.event_id = str(uuid.uuid4())
    assert harness.apply(stale).duplicates == 1
    match_id = harness.involvement(p, "a").match.match_id
    harness.wait_for(harness.outbox_empty)
    assert kinds(harness.events_for(match_id)) == [pb.MATCH_EVENT_KIND_CREATED]


def test_events_in_any_order(harness: Harness) -> None:
    p = person()
    a, b = event("a", "o1", p), event("b", "o2", p, minute=1)
    # ENDED (version 2) of b arrives before its REGISTERED (version 1): b never counts.
    harness.apply(ended(b))
    harness.apply(a, b)
    assert not harness.involvement(p, "a").HasField("match")
    assert harness.sql("SELECT count(*) FROM matches") == [(0,)]


def test_join_leave_and_close(harness: Harness) -> None:
    p = person()
    a, b, c = event("a", "o1", p), event("b", "o2", p, minute=1), event("c", "o3", p, minute=2)
    harness.apply(a, b)
    match_id = harness.involvement(p, "a").match.match_id
    harness.apply(c)
    harness.apply(ended(a))
    match = harness.involvement(p, "b").match
    assert match.match_id == match_id
    assert sorted(m.professional.professional_id for m in match.members) == ["b", "c"]
    assert match.coordinator_professional_id == "b"
    harness.apply(ended(c, DELETED))
    assert not harness.involvement(p, "b").HasField("match")
    # The deleted signal is erased after the rules ran: ERASED comes last (issue 12).
    events = harness.wait_for(lambda: (e := harness.events_for(match_id)) and len(e) == 5 and e)
    # One event per recipient (issue 17): the coordinator's leaving and the succession are one
    # MEMBER_LEFT that names the new coordinator (offered the role), not two events.
    assert kinds(events) == [
        pb.MATCH_EVENT_KIND_CREATED,
        pb.MATCH_EVENT_KIND_MEMBER_JOINED,
        pb.MATCH_EVENT_KIND_MEMBER_LEFT,
        pb.MATCH_EVENT_KIND_CLOSED,
        pb.MATCH_EVENT_KIND_ERASED,
    ]
    joined, left, closed, erased = events[1:]
    assert list(erased.erased_signal_ids) == [c.signal_id]
    assert joined.subject.professional_id == "c" and recipient_ids(joined) == ["a", "b", "c"]
    assert [j.professional_id for j in joined.joined] == ["c"]
    assert len(joined.members) == 3
    assert left.subject.professional_id == "a" and recipient_ids(left) == ["a", "b", "c"]
    assert left.new_coordinator.professional_id == "b" and left.coordinator_offered
    assert recipient_ids(closed) == ["b", "c"]
    # A new signal after closing makes a new match.
    harness.clock.advance(timedelta(hours=1))
    harness.apply(event("d", "o4", p, minute=9))
    assert harness.involvement(p, "d").match.match_id not in ("", match_id)
    matches = harness.stub.ListMatchesOnPseudonym(pb.ListMatchesOnPseudonymRequest(pseudonym=p), timeout=5)
    assert [m.status for m in matches.matches] == [pb.MATCH_STATUS_CLOSED, pb.MATCH_STATUS_OPEN]


def test_events_wait_while_notify_is_down(harness: Harness) -> None:
    harness.notify.fail = True
    p = person()
    harness.apply(event("a", "o1", p), event("b", "o2", p, minute=1))
    harness.wait_for(lambda: harness.notify.refused >= 1)
    assert not harness.notify.snapshot()
    assert not harness.outbox_empty()
    harness.notify.fail = False
    harness.wait_for(harness.notify.snapshot, timeout=40)
    harness.wait_for(harness.outbox_empty)
    assert len(harness.notify.snapshot()) == 1


def test_an_event_notify_refuses_is_parked_and_does_not_block_others(harness: Harness) -> None:
    harness.notify.invalid = lambda e: any(not r.email for r in e.recipients)
    bad_person, good_person = person(), person()
    nameless = event("b", "o2", bad_person, minute=1)
    nameless.professional.email = ""
    # One call: both matches' events reach the outbox in one transaction, so one relay batch.
    harness.apply(
        event("a", "o1", bad_person), nameless, event("a", "o1", good_person), event("c", "o3", good_person)
    )
    good = harness.involvement(good_person, "a").match.match_id
    bad = harness.involvement(bad_person, "a").match.match_id
    harness.wait_for(lambda: harness.events_for(good))
    harness.wait_for(harness.outbox_empty)
    assert not harness.events_for(bad)
    parked = harness.sql("SELECT reason FROM undeliverable_events")
    assert parked == [("unknown_recipient",)]


def test_big_batch_of_many_people(harness: Harness) -> None:
    events = []
    people = [person() for _ in range(300)]
    for i, p in enumerate(people):
        events.append(event("a", "o1", p))
        if i % 3 == 0:
            events.append(event("b", "o2", p, minute=1))
    resp = harness.apply(*events)
    assert resp.applied == len(events)
    assert harness.sql("SELECT count(*) FROM matches WHERE status = 'open'") == [(100,)]
    harness.wait_for(lambda: len(harness.notify.snapshot()) == 100)


def test_invalid_events_are_refused(harness: Harness) -> None:
    bad = event("a", "o1", person())
    bad.event_id = ""
    with pytest.raises(grpc.RpcError) as exc:
        harness.apply(bad)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- concurrency -------------------------------------------------------------------------------


def test_fifty_professionals_of_ten_organisations_at_once(harness: Harness) -> None:
    """50 concurrent ApplySignalEvents calls (one event each) on one person."""
    p = person()
    events = [event(f"p{i:02d}", f"o{i % 10}", p, minute=i) for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda e: harness.apply(e), events))
    assert sum(r.applied for r in results) == 50
    assert harness.sql("SELECT count(*) FROM matches") == [(1,)]
    match = harness.involvement(p, "p00").match
    assert len(match.members) == 50
    assert sum(m.is_coordinator for m in match.members) == 1
    assert match.coordinator_professional_id in {m.professional.professional_id for m in match.members}
    harness.wait_for(harness.outbox_empty)
    events_out = harness.events_for(match.match_id)
    # No duplicate deliveries of one event.
    assert len({e.event_id for e in events_out}) == len(events_out)
    # Every member is told of their own entry into the match exactly once: in CREATED, or in
    # the MEMBER_JOINED whose subject they are.
    entries: Counter[str] = Counter()
    for e in events_out:
        if e.kind == pb.MATCH_EVENT_KIND_CREATED:
            entries.update(r.professional_id for r in e.recipients)
        elif e.kind == pb.MATCH_EVENT_KIND_MEMBER_JOINED:
            entries[e.subject.professional_id] += 1
    assert entries == Counter({f"p{i:02d}": 1 for i in range(50)})
    assert kinds(events_out).count(pb.MATCH_EVENT_KIND_CREATED) == 1
    # The coordinator can only have moved if ... it never does: nobody left.
    assert pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED not in kinds(events_out)


def test_fifty_at_once_with_a_notice_window_is_one_event_for_everybody(make_harness) -> None:
    """With the notice window, the burst reaches notify as ONE CREATED naming all 50."""
    harness = make_harness(5.0)
    p = person()
    events = [event(f"p{i:02d}", f"o{i % 10}", p, minute=i) for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(lambda e: harness.apply(e), events))
    match = harness.involvement(p, "p00").match
    assert len(match.members) == 50 and sum(m.is_coordinator for m in match.members) == 1
    assert harness.sql("SELECT count(*) FROM pending_notices") == [(1,)]
    assert not harness.notify.snapshot()  # still inside the window
    harness.clock.advance(timedelta(seconds=5))
    harness.wait_for(harness.outbox_empty)
    sent = harness.notify.snapshot()
    assert kinds(sent) == [pb.MATCH_EVENT_KIND_CREATED]
    assert recipient_ids(sent[0]) == sorted(f"p{i:02d}" for i in range(50))
    assert len(sent[0].members) == 50
    assert sent[0].subject.professional_id == match.coordinator_professional_id


def test_other_changes_release_the_pending_notice_first(make_harness) -> None:
    harness = make_harness(60.0)
    p = person()
    a, b, c = event("a", "o1", p), event("b", "o2", p, minute=1), event("c", "o3", p, minute=2)
    harness.apply(a, b)
    harness.apply(c)  # merged into the pending CREATED
    harness.apply(ended(b))  # MEMBER_LEFT: the pending notice goes out first, then this
    harness.wait_for(harness.outbox_empty)
    sent = harness.notify.snapshot()
    assert kinds(sent) == [pb.MATCH_EVENT_KIND_CREATED, pb.MATCH_EVENT_KIND_MEMBER_LEFT]
    assert recipient_ids(sent[0]) == ["a", "b", "c"]
    assert recipient_ids(sent[1]) == ["a", "b", "c"]
    assert sorted(m.professional.professional_id for m in sent[1].members) == ["a", "c"]


def test_concurrent_batches_over_the_same_people_do_not_deadlock(harness: Harness) -> None:
    people = [person() for _ in range(40)]
    batches = []
    for k in range(8):
        batch = [event(f"p{k}", f"o{k}", p, minute=k) for p in people]
        random.Random(k).shuffle(batch)
        batches.append(batch)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda b: harness.apply(*b), batches))
    assert sum(r.applied for r in results) == 8 * 40
    assert harness.sql("SELECT count(*) FROM matches WHERE status = 'open'") == [(40,)]
    assert harness.sql("SELECT count(*) FROM match_members WHERE left_at IS NULL") == [(320,)]


def test_a_burst_in_one_call_is_one_created_event(harness: Harness) -> None:
    p = person()
    burst = [event(f"p{i:02d}", f"o{i % 10}", p, minute=i) for i in range(50)]
    for e in burst:
        e.bulk = True
    harness.apply(*burst)
    match = harness.involvement(p, "p07").match
    harness.wait_for(harness.outbox_empty)
    events = harness.events_for(match.match_id)
    assert kinds(events) == [pb.MATCH_EVENT_KIND_CREATED]
    assert recipient_ids(events[0]) == sorted(f"p{i:02d}" for i in range(50))
    assert events[0].bulk
    assert [m.is_coordinator for m in events[0].members].count(True) == 1


# --- visibility and the access log --------------------------------------------------------------


def not_found(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    err: Any = exc.value
    assert err.code() == grpc.StatusCode.NOT_FOUND
    meta = dict(err.trailing_metadata())
    return meta["sluis-reason"], err.details()


def test_visibility_for_every_role(harness: Harness) -> None:
    p = person()
    a, b, c = event("a", "o1", p), event("b", "o2", p, minute=1), event("c", "o3", p, minute=2)
    harness.apply(a, b, c, event("x", "o9", person()))
    harness.apply(ended(c))
    unknown = not_found(lambda: harness.involvement(person(), "a"))
    assert unknown == ("not_found", domain.NOT_FOUND_DETAIL)

    # A member with an active signal sees the others' contact details and the coordinator.
    resp = harness.involvement(p, "a")
    assert [o.professional.professional_id for o in resp.others] == ["b"]
    b_contact = resp.others[0].professional
    assert (b_contact.name, b_contact.email, b_contact.organisation_id) == ("Naam b", "b@o2.example", "o2")
    assert resp.match.coordinator_professional_id == "a"
    match_id = resp.match.match_id

    # Everybody else gets exactly the unknown-person answer: a colleague of a member's
    # organisation, a professional whose signal ended, a stranger, an empty id.
    for who in ("a-colleague", "c", "x", ""):
        assert not_found(partial(harness.involvement, p, who)) == unknown
        request = pb.GetMatchRequest(match_id=match_id, professional_id=who)
        assert not_found(partial(harness.stub.GetMatch, request, timeout=5)) == unknown
    assert (
        not_found(
            lambda: harness.stub.GetMatch(
                pb.GetMatchRequest(match_id=str(uuid.uuid4()), professional_id="a"), timeout=5
            )
        )
        == unknown
    )
    assert (
        not_found(
            lambda: harness.stub.GetMatch(
                pb.GetMatchRequest(match_id="nonsense", professional_id="a"), timeout=5
            )
        )
        == unknown
    )

    got = harness.stub.GetMatch(
        pb.GetMatchRequest(match_id=match_id, professional_id="b", purpose="api"), timeout=5
    )
    assert got.match.match_id == match_id
    listed = harness.stub.ListMatches(pb.ListMatchesRequest(professional_id="b"), timeout=5)
    assert [m.match_id for m in listed.matches] == [match_id]
    for who in ("c", "x", "a-colleague"):
        assert not harness.stub.ListMatches(pb.ListMatchesRequest(professional_id=who), timeout=5).matches

    lines = harness.stub.ListProcessingLog(pb.ListProcessingLogRequest(pseudonym=p), timeout=5).lines
    reads = [
        (x.actor_id, x.attributes["sluis.organisation_id"], x.attributes["sluis.channel"], x.status_code)
        for x in lines
        if x.name in ("match.involvement", "match.get", "match.list")
    ]
    assert ("a", "o1", "portal", "ok") in reads
    assert ("a-colleague", "", "portal", "error") in reads
    assert ("c", "o3", "portal", "error") in reads  # organisation known from the ended signal
    assert ("x", "o9", "portal", "error") in reads
    assert ("b", "o2", "api", "ok") in reads
    assert ("b", "o2", "onbekend", "ok") in reads
    refused = [x for x in lines if x.status_code == "error"]
    assert {x.processing_activity_id for x in refused} == {"betrokkenheid-geweigerd"}
    assert all(x.attributes.get("sluis.match_id") == match_id for x in lines)
    assert all(len(x.trace_id) == 32 and len(x.operation_id) == 16 for x in lines)
    assert all(x.start_time.seconds for x in lines)


# --- coordinator over gRPC ------------------------------------------------------------------------


def test_coordinator_rules_take_over_and_hand_over(harness: Harness) -> None:
    empty = harness.stub.GetCoordinatorRules(pb.GetCoordinatorRulesRequest(), timeout=5).rules
    assert empty.version == 0 and not empty.organisation_priority
    rules = pb.CoordinatorRules(organisation_priority=["o3", "o2"], domain_priority=["youth"])
    stored = harness.stub.SetCoordinatorRules(
        pb.SetCoordinatorRulesRequest(rules=rules, admin_id="admin"), timeout=5
    )
    assert stored.rules.version == 1 and stored.rules.created_by == "admin"
    with pytest.raises(grpc.RpcError) as exc:
        harness.stub.SetCoordinatorRules(
            pb.SetCoordinatorRulesRequest(
                rules=pb.CoordinatorRules(domain_priority=["astrology"]), admin_id="admin"
            ),
            timeout=5,
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    current = harness.stub.GetCoordinatorRules(pb.GetCoordinatorRulesRequest(), timeout=5).rules
    assert list(current.organisation_priority) == ["o3", "o2"] and current.version == 1

    p = person()
    harness.apply(
        event("a", "o1", p),
        event("b", "o2", p, minute=1),
        event("c", "o3", p, minute=2),
        event("n", "o4", p, minute=3, may_coordinate=False),
    )
    match = harness.involvement(p, "a").match
    assert match.coordinator_professional_id == "c"  # priority list
    mid = match.match_id

    with pytest.raises(grpc.RpcError) as exc:
        harness.stub.TakeCoordinator(pb.TakeCoordinatorRequest(match_id=mid, professional_id="n"), timeout=5)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert not_found(
        lambda: harness.stub.TakeCoordinator(
            pb.TakeCoordinatorRequest(match_id=mid, professional_id="zz"), timeout=5
        )
    ) == ("not_found", domain.NOT_FOUND_DETAIL)

    # Taking over needs the sitting coordinator's acceptance (issue 17; test_coordination.py).
    taken = harness.stub.TakeCoordinator(
        pb.TakeCoordinatorRequest(match_id=mid, professional_id="a"), timeout=5
    )
    assert taken.match.coordinator_professional_id == "c" and taken.match.takeover_professional_id == "a"
    allowed = harness.stub.RespondTakeover(
        pb.RespondTakeoverRequest(match_id=mid, professional_id="c", accept=True), timeout=5
    )
    assert allowed.match.coordinator_professional_id == "a" and not allowed.match.takeover_professional_id
    offered = harness.stub.HandOverCoordinator(
        pb.HandOverCoordinatorRequest(match_id=mid, professional_id="a", to_professional_id="b"), timeout=5
    )
    assert offered.match.pending_coordinator_professional_id == "b"
    accepted = harness.stub.AcceptCoordinator(
        pb.AcceptCoordinatorRequest(match_id=mid, professional_id="b"), timeout=5
    )
    assert accepted.match.coordinator_professional_id == "b"
    assert accepted.match.pending_coordinator_professional_id == ""
    events = harness.wait_for(lambda: (e := harness.events_for(mid)) and len(e) == 5 and e)
    assert kinds(events) == [
        pb.MATCH_EVENT_KIND_CREATED,
        pb.MATCH_EVENT_KIND_TAKEOVER_REQUESTED,
        pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED,
        pb.MATCH_EVENT_KIND_HANDOVER_REQUESTED,
        pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED,
    ]
    assert recipient_ids(events[1]) == ["c"]
    assert recipient_ids(events[3]) == ["b"]
    assert recipient_ids(events[4]) == ["a", "b", "c", "n"]

    # When the coordinator's signal ends, the role moves on by the rule (priority list: o3).
    harness.apply(ended(event("b", "o2", p, minute=1)))
    assert harness.involvement(p, "a").match.coordinator_professional_id == "c"


def test_a_member_sees_which_own_signal_a_match_is_about(harness: Harness) -> None:
    """Issue 17: own_signal_id for the asking professional, the signal_id filter, and the
    same in FilterVisibleMatches; never another member's signal."""
    p, q = person(), person()
    harness.apply(event("a", "o1", p), event("b", "o2", p, minute=1))
    harness.apply(event("a", "o1", q, minute=2), event("b", "o2", q, minute=3))
    listed = harness.stub.ListMatches(pb.ListMatchesRequest(professional_id="a"), timeout=5).matches
    assert sorted(m.own_signal_id for m in listed) == sorted([f"sig-{p}-a", f"sig-{q}-a"])
    one = harness.stub.ListMatches(
        pb.ListMatchesRequest(professional_id="a", signal_id=f"sig-{q}-a"), timeout=5
    ).matches
    assert [m.own_signal_id for m in one] == [f"sig-{q}-a"]
    # Another member's signal id filters to nothing.
    assert not harness.stub.ListMatches(
        pb.ListMatchesRequest(professional_id="a", signal_id=f"sig-{q}-b"), timeout=5
    ).matches
    got = harness.stub.GetMatch(pb.GetMatchRequest(match_id=one[0].match_id, professional_id="b"), timeout=5)
    assert got.match.own_signal_id == f"sig-{q}-b"
    visible = harness.stub.FilterVisibleMatches(
        pb.FilterVisibleMatchesRequest(professional_id="b", match_ids=[m.match_id for m in listed]), timeout=5
    )
    assert sorted(v.own_signal_id for v in visible.visible) == sorted([f"sig-{p}-b", f"sig-{q}-b"])
    assert sorted(visible.match_ids) == sorted(m.match_id for m in listed)
