"""Family matches (issue 18): the rules without network, then the service over gRPC + PostgreSQL."""

import uuid
from datetime import date, timedelta

import psycopg
import pytest
from sluis.match.v1 import match_pb2 as pb
from sluis.signal.v1 import signal_pb2 as spb

from services.common.contacts import Contact
from services.match import domain, family
from services.match.tests.helpers import T0, ended, event
from services.match.tests.test_server import Harness, harness, make_harness  # noqa: F401

TODAY = date(2026, 3, 2)
CHILD_AGE = date(2030, 1, 1)  # turns 18 long after TODAY


def inv(
    prof: str, org: str, person: str, parents: tuple[str, ...] = (), adult_on: date | None = CHILD_AGE
) -> domain.Involvement:
    return domain.Involvement(
        signal_id=f"s-{person}-{prof}",
        pseudonym=person,
        contact=Contact(prof, organisation_id=org),
        may_coordinate=True,
        domains=(),
        registered_at=T0,
        active=True,
        version=1,
        parent_pseudonyms=parents,
        adult_on=adult_on,
    )


def decide(involvements: list[domain.Involvement], today: date = TODAY) -> list[domain.Decision]:
    return family.decide_families(
        family.anchors_of(involvements),
        involvements,
        {},
        domain.CoordinatorRules(),
        now=T0,
        today=today,
        new_match_id=lambda: str(uuid.uuid4()),
    )


def members(d: domain.Decision) -> list[str]:
    assert d.after is not None
    return sorted(m.professional_id for m in d.after.members)


# --- the rules --------------------------------------------------------------------------------


def test_parent_and_child_of_two_organisations_are_a_family_match() -> None:
    (d,) = decide([inv("a", "o1", "mum"), inv("b", "o2", "kid", ("mum", "dad"))])
    assert d.after is not None and d.after.kind == family.FAMILY and d.after.pseudonym == "mum"
    assert members(d) == ["a", "b"]
    assert all(c.match.kind == family.FAMILY for c in d.changes)


def test_two_siblings_are_one_family_match_not_one_per_parent() -> None:
    (d,) = decide([inv("a", "o1", "kid1", ("mum", "dad")), inv("b", "o2", "kid2", ("mum", "dad"))])
    assert d.after is not None and d.after.pseudonym == "dad"  # the lower anchor stays
    assert members(d) == ["a", "b"]


def test_half_siblings_share_one_parent() -> None:
    (d,) = decide([inv("a", "o1", "kid1", ("mum", "dad1")), inv("b", "o2", "kid2", ("mum", "dad2"))])
    assert d.after is not None and d.after.pseudonym == "mum"


def test_one_person_alone_is_no_family_match() -> None:
    assert decide([inv("a", "o1", "kid", ("mum",)), inv("b", "o2", "kid", ("mum",))]) == []


def test_one_organisation_is_no_family_match() -> None:
    assert decide([inv("a", "o1", "mum"), inv("b", "o1", "kid", ("mum",))]) == []


def test_an_adult_child_is_not_in_the_family() -> None:
    adult = inv("b", "o2", "kid", ("mum",), adult_on=TODAY)
    assert decide([inv("a", "o1", "mum"), adult]) == []
    assert decide([inv("a", "o1", "mum"), inv("b", "o2", "kid", ("mum",), adult_on=None)]) == []
    assert len(decide([inv("a", "o1", "mum"), adult], today=TODAY - timedelta(days=1))) == 1


def test_a_family_covered_by_a_bigger_one_is_left_out() -> None:
    # dad is signalled too: dad's family holds everything mum's holds, so only dad's counts.
    found = decide(
        [
            inv("a", "o1", "kid1", ("mum", "dad")),
            inv("b", "o2", "kid2", ("mum", "dad")),
            inv("c", "o3", "dad"),
        ]
    )
    assert [d.after.pseudonym for d in found if d.after] == ["dad"]
    assert members(found[0]) == ["a", "b", "c"]


def test_a_match_taken_over_by_a_bigger_family_keeps_its_id() -> None:
    siblings = [inv("a", "o1", "kid1", ("mum", "dad")), inv("b", "o2", "kid2", ("mum", "dad"))]
    (first,) = decide(siblings)
    assert first.after is not None and first.after.pseudonym == "dad"
    both = [*siblings, inv("c", "o3", "mum")]  # mum's family now holds every signal
    (moved,) = family.decide_families(
        family.anchors_of(both),
        both,
        {"dad": first.after},
        domain.CoordinatorRules(),
        now=T0,
        today=TODAY,
        new_match_id=lambda: "new",
    )
    assert moved.after is not None and moved.after.match_id == first.after.match_id
    assert moved.after.pseudonym == "mum" and members(moved) == ["a", "b", "c"]


def test_switched_off_creates_nothing() -> None:
    involvements = [inv("a", "o1", "mum"), inv("b", "o2", "kid", ("mum",))]
    assert (
        family.decide_families(
            ["mum"],
            involvements,
            {},
            domain.CoordinatorRules(),
            now=T0,
            today=TODAY,
            new_match_id=lambda: "m",
            allow_new=False,
        )
        == []
    )


# --- the service --------------------------------------------------------------------------------


def family_event(
    prof: str, org: str, person: str, parents: tuple[str, ...], adult_on: date
) -> spb.SignalEvent:
    ev = event(prof, org, person)
    ev.parent_pseudonyms.extend(parents)
    ev.adult_on = adult_on.isoformat()
    return ev


def pseudonym() -> str:
    return f"1.{uuid.uuid4().hex}"


def family_matches(h: Harness, prof: str) -> list[pb.Match]:
    listed = h.stub.ListMatches(pb.ListMatchesRequest(professional_id=prof), timeout=5).matches
    return [m for m in listed if m.kind == pb.MATCH_KIND_FAMILY]


def test_service_parent_and_child(harness: Harness) -> None:  # noqa: F811
    mum, kid = pseudonym(), pseudonym()
    harness.apply(event("a", "o1", mum), family_event("b", "o2", kid, (mum,), date(2035, 1, 1)))
    (match,) = family_matches(harness, "a")
    assert [m.match_id for m in family_matches(harness, "b")] == [match.match_id]
    assert sorted(m.professional.professional_id for m in match.members) == ["a", "b"]
    # Each member sees the other's contact details, and the kind; never which person.
    got = harness.stub.GetMatch(pb.GetMatchRequest(match_id=match.match_id, professional_id="b"), timeout=5)
    assert got.match.kind == pb.MATCH_KIND_FAMILY
    # The caller's own signal id is theirs to see (issue 17); nothing else names a person.
    others = pb.Match()
    others.CopyFrom(got.match)
    others.ClearField("own_signal_id")
    assert kid not in str(others) and mum not in str(others)
    events = harness.wait_for(lambda: harness.events_for(match.match_id))
    assert events[0].kind == pb.MATCH_EVENT_KIND_CREATED and events[0].match_kind == pb.MATCH_KIND_FAMILY
    # The family match is about both of them: every line about it is written for each (so
    # each one's access document lists it), and notify gets both sealed with the event.
    for person in (mum, kid):
        lines = harness.stub.ListProcessingLog(pb.ListProcessingLogRequest(pseudonym=person), timeout=5).lines
        about = [(x.name, x.actor_id) for x in lines if x.attributes.get("sluis.match_id") == match.match_id]
        assert {("match.member_joined", "a"), ("match.member_joined", "b"), ("match.get", "b")} <= set(about)
        assert {("match.notice", "a"), ("match.notice", "b")} <= set(about)
    on_kid = harness.stub.ListMatchesOnPseudonym(
        pb.ListMatchesOnPseudonymRequest(pseudonym=kid, admin_id="admin"), timeout=5
    ).matches
    assert [m.match_id for m in on_kid] == [match.match_id]
    assert len(events[0].log_subjects) == 2
    # Not a person match: neither person has two organisations.
    assert not harness.involvement(kid, "b").HasField("match")
    # The parent's signal ends: the family match closes, and its members can no longer open it.
    harness.apply(ended(event("a", "o1", mum)))
    assert family_matches(harness, "b") == []
    with pytest.raises(Exception, match="NOT_FOUND"):
        harness.stub.GetMatch(pb.GetMatchRequest(match_id=match.match_id, professional_id="b"), timeout=5)


def test_service_two_siblings_and_one_turning_18(harness: Harness) -> None:  # noqa: F811
    mum, dad, kid1, kid2, kid3 = (pseudonym() for _ in range(5))
    turns_18 = (harness.clock.now() + timedelta(days=10)).date()
    harness.apply(
        family_event("a", "o1", kid1, (mum, dad), date(2035, 1, 1)),
        family_event("b", "o2", kid2, (mum, dad), turns_18),
    )
    (match,) = family_matches(harness, "a")
    assert len(harness.sql("SELECT 1 FROM matches WHERE kind = 'family' AND status = 'open'")) == 1
    # A third sibling of a third organisation joins the same family match.
    harness.apply(family_event("c", "o3", kid3, (mum, dad), date(2036, 1, 1)))
    assert [m.match_id for m in family_matches(harness, "c")] == [match.match_id]
    assert harness.stub.RefreshFamilies(pb.RefreshFamiliesRequest(), timeout=10).changed == 0

    harness.clock.advance(timedelta(days=10))  # kid2 turns 18: b leaves, a and c stay
    assert harness.stub.RefreshFamilies(pb.RefreshFamiliesRequest(), timeout=10).changed == 1
    (after,) = family_matches(harness, "a")
    assert after.match_id == match.match_id
    assert sorted(m.professional.professional_id for m in after.members) == ["a", "c"]
    assert family_matches(harness, "b") == []
    left = harness.wait_for(
        lambda: [e for e in harness.events_for(match.match_id) if e.kind == pb.MATCH_EVENT_KIND_MEMBER_LEFT]
    )
    assert left[0].subject.professional_id == "b"


def test_service_a_parent_signalled_after_the_child_finds_the_family(harness: Harness) -> None:  # noqa: F811
    """The parent's batch has no parents in it: the look-up goes to the parents' B-tree
    (involvement_parents, kept by triggers: issue 21), which follows the child's row."""
    mum, kid = pseudonym(), pseudonym()
    harness.apply(family_event("b", "o2", kid, (mum,), date(2035, 1, 1)))
    assert family_matches(harness, "b") == []
    assert harness.sql("SELECT parent_pseudonym FROM involvement_parents") == [(mum,)]
    harness.apply(event("a", "o1", mum))
    (match,) = family_matches(harness, "a")
    assert [m.match_id for m in family_matches(harness, "b")] == [match.match_id]
    # The parents' rows go with their involvement.
    with psycopg.connect(harness.url) as conn:
        assert conn.execute("DELETE FROM involvements WHERE pseudonym = %s", (kid,)).rowcount == 1
    assert harness.sql("SELECT parent_pseudonym FROM involvement_parents") == []
