"""Coordination by agreement over real gRPC and PostgreSQL (issue 17), and a lost mayCoordinate
handing the role on (issue 22): the timeout sweep runs on the service's frozen clock."""

from collections.abc import Callable
from datetime import timedelta

import grpc
import pytest
from sluis.match.v1 import match_pb2 as pb

from services.match.tests.helpers import ended, event
from services.match.tests.test_server import Harness, kinds, make_harness, person, recipient_ids

__all__ = ["make_harness"]  # the fixture, used by `harness` below


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    """A match service with the sweep looking for due requests every 50 ms."""
    return make_harness(0.0, coordination_sweep_seconds=0.05)


def open_match(h: Harness, *orgs: tuple[str, str, bool]) -> tuple[str, str]:
    p = person()
    h.apply(*(event(pro, org, p, minute=i, may_coordinate=may) for i, (pro, org, may) in enumerate(orgs)))
    return p, h.involvement(p, orgs[0][0]).match.match_id


def test_take_over_passes_after_five_working_days_without_an_answer(harness: Harness) -> None:
    p, mid = open_match(harness, ("a", "o1", True), ("b", "o2", True))
    asked = harness.stub.TakeCoordinator(
        pb.TakeCoordinatorRequest(match_id=mid, professional_id="b"), timeout=5
    )
    assert asked.match.coordinator_professional_id == "a" and asked.match.takeover_professional_id == "b"
    due = asked.match.takeover_due_at.ToDatetime().replace(tzinfo=harness.clock.now().tzinfo)
    assert timedelta(days=5) <= due - harness.clock.now() <= timedelta(days=9)  # weekends in between
    harness.clock.advance(due - harness.clock.now() - timedelta(minutes=1))
    assert harness.involvement(p, "a").match.coordinator_professional_id == "a"  # not yet
    harness.clock.advance(timedelta(minutes=2))
    harness.wait_for(lambda: harness.involvement(p, "a").match.coordinator_professional_id == "b")
    events = harness.wait_for(lambda: (e := harness.events_for(mid)) and len(e) == 3 and e)
    assert kinds(events) == [
        pb.MATCH_EVENT_KIND_CREATED,
        pb.MATCH_EVENT_KIND_TAKEOVER_REQUESTED,
        pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED,
    ]
    assert recipient_ids(events[1]) == ["a"] and recipient_ids(events[2]) == ["a", "b"]


def test_declined_take_over_and_declined_offer(harness: Harness) -> None:
    p, mid = open_match(harness, ("a", "o1", True), ("b", "o2", True), ("c", "o3", True))
    harness.stub.TakeCoordinator(pb.TakeCoordinatorRequest(match_id=mid, professional_id="b"), timeout=5)
    with pytest.raises(grpc.RpcError) as exc:
        harness.stub.RespondTakeover(
            pb.RespondTakeoverRequest(match_id=mid, professional_id="b", accept=True), timeout=5
        )
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    declined = harness.stub.RespondTakeover(
        pb.RespondTakeoverRequest(match_id=mid, professional_id="a", accept=False), timeout=5
    )
    assert declined.match.coordinator_professional_id == "a" and not declined.match.takeover_professional_id
    # The coordinator leaves: b is offered the role, declines, and c is offered it.
    harness.apply(ended(event("a", "o1", p, minute=0)))
    offered = harness.involvement(p, "b").match
    assert offered.coordinator_professional_id == "b" and offered.coordinator_offered
    nxt = harness.stub.DeclineCoordinator(
        pb.DeclineCoordinatorRequest(match_id=mid, professional_id="b"), timeout=5
    )
    assert nxt.match.coordinator_professional_id == "c" and nxt.match.coordinator_offered
    accepted = harness.stub.AcceptCoordinator(
        pb.AcceptCoordinatorRequest(match_id=mid, professional_id="c"), timeout=5
    )
    assert accepted.match.coordinator_professional_id == "c" and not accepted.match.coordinator_offered
    events = harness.wait_for(lambda: (e := harness.events_for(mid)) and len(e) == 5 and e)
    assert kinds(events)[2:] == [
        pb.MATCH_EVENT_KIND_TAKEOVER_DECLINED,
        pb.MATCH_EVENT_KIND_MEMBER_LEFT,
        pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED,
    ]
    assert recipient_ids(events[2]) == ["b"]
    left = events[3]
    assert left.new_coordinator.professional_id == "b" and left.coordinator_offered
    # Each action and answer is its own line under matchregie (the refused one wrote none).
    lines = harness.stub.ListProcessingLog(pb.ListProcessingLogRequest(pseudonym=p), timeout=5).lines
    answers = [
        (
            x.actor_id,
            x.attributes["sluis.action"],
            x.attributes.get("sluis.answer", ""),
            x.processing_activity_id,
        )
        for x in lines
        if x.name == "match.coordination"
    ]
    assert answers == [
        ("b", "take_coordinator", "", "matchregie"),
        ("a", "respond_takeover", "declined", "matchregie"),
        ("b", "decline_coordinator", "declined", "matchregie"),
        ("c", "accept_coordinator", "accepted", "matchregie"),
    ]


def test_losing_may_coordinate_hands_the_role_on(harness: Harness) -> None:
    p, mid = open_match(harness, ("a", "o1", True), ("b", "o2", True), ("c", "o1", True))
    assert harness.involvement(p, "a").match.coordinator_professional_id == "a"
    resp = harness.stub.SetOrganisationMayCoordinate(
        pb.SetOrganisationMayCoordinateRequest(organisation_id="o1", may_coordinate=False), timeout=5
    )
    assert resp.handed_on == 1
    match = harness.involvement(p, "a").match
    assert match.coordinator_professional_id == "b" and match.coordinator_offered
    events = harness.wait_for(lambda: (e := harness.events_for(mid)) and len(e) == 2 and e)
    assert events[1].kind == pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED
    assert recipient_ids(events[1]) == ["a", "b", "c"] and events[1].new_coordinator.professional_id == "b"
    # A colleague of o1 can no longer take the role.
    with pytest.raises(grpc.RpcError) as exc:
        harness.stub.TakeCoordinator(pb.TakeCoordinatorRequest(match_id=mid, professional_id="c"), timeout=5)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Idempotent: nothing moves again.
    again = harness.stub.SetOrganisationMayCoordinate(
        pb.SetOrganisationMayCoordinateRequest(organisation_id="o1", may_coordinate=False), timeout=5
    )
    assert again.handed_on == 0
