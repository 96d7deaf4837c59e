"""Issue 12: a professional leaves; their signal, the match and the coordinator role follow."""

from collections.abc import Callable

import grpc
import pytest
from sluis.match.v1 import match_pb2 as pb
from sluis.signal.v1 import signal_pb2 as spb

from services.match.tests.helpers import event
from services.match.tests.test_server import (  # noqa: F401 (fixture)
    Harness,
    make_harness,
    person,
)

TRANSFERRED = spb.SIGNAL_EVENT_KIND_TRANSFERRED


@pytest.fixture
def h(make_harness: Callable[[float], Harness]) -> Harness:  # noqa: F811
    return make_harness(0.0)


def transferred(ev: spb.SignalEvent, to: str) -> spb.SignalEvent:
    moved = event(to, ev.professional.organisation_id, ev.pseudonym, kind=TRANSFERRED, version=2)
    moved.signal_id = ev.signal_id
    moved.registered_at.CopyFrom(ev.registered_at)  # dates kept
    moved.transferred_from_professional_id = ev.professional.professional_id
    return moved


def test_the_coordinator_leaves_and_the_role_follows_the_signal(h: Harness) -> None:
    p = person()
    a, b, c = event("a", "o1", p), event("b", "o2", p, minute=1), event("c", "o3", p, minute=2)
    h.apply(a, b, c)
    match = h.involvement(p, "b").match
    assert match.coordinator_professional_id == "a"  # the earliest signal
    h.apply(transferred(a, "a2"))
    match = h.involvement(p, "b").match
    assert sorted(m.professional.professional_id for m in match.members) == ["a2", "b", "c"]
    assert match.coordinator_professional_id == "a2"
    assert h.involvement(p, "a2").match.match_id == match.match_id
    with pytest.raises(grpc.RpcError):  # the leaver no longer sees anything
        h.involvement(p, "a")
    # The others are told who left and who joined; the role did not pass to b or c on the way.
    events = h.wait_for(
        lambda: (
            (e := h.events_for(match.match_id))
            and any(x.kind == pb.MATCH_EVENT_KIND_MEMBER_JOINED for x in e)
            and e
        )
    )
    kinds = [e.kind for e in events]
    assert pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED not in kinds
    joined = next(e for e in events if e.kind == pb.MATCH_EVENT_KIND_MEMBER_JOINED)
    assert joined.subject.professional_id == "a2"
    assert {r.professional_id for r in joined.recipients} >= {"a2", "b", "c"}
    assert [m.professional.professional_id for m in joined.members if m.is_coordinator] == ["a2"]


def test_a_member_leaves_and_the_coordinator_stays(h: Harness) -> None:
    p = person()
    a, b = event("a", "o1", p), event("b", "o2", p, minute=1)
    h.apply(a, b)
    h.apply(transferred(b, "b2"))
    match = h.involvement(p, "a").match
    assert sorted(m.professional.professional_id for m in match.members) == ["a", "b2"]
    assert match.coordinator_professional_id == "a"
