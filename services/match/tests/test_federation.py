"""Cross-region match rules (services/match/federation.py) without a network."""

from datetime import UTC, datetime, timedelta

import pytest

from services.common.config import ConfigError
from services.common.contacts import Contact
from services.match import domain, federation
from services.match.federation import PeerMember, Presence, State

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RULES = domain.CoordinatorRules()


def inv(prof: str, org: str, minute: int = 0, active: bool = True) -> domain.Involvement:
    return domain.Involvement(
        signal_id=f"sig-{prof}",
        pseudonym="1.p",
        contact=Contact(prof, f"Naam {prof}", "rol", "010", f"{prof}@{org}.example", org, f"Org {org}"),
        may_coordinate=True,
        domains=(),
        registered_at=T0 + timedelta(minutes=minute),
        active=active,
        version=1,
    )


def peer(region: str, *members: tuple[str, str, bool], minute: int = 0, present: bool = True) -> Presence:
    return Presence(
        region,
        1,
        present,
        T0 + timedelta(minutes=minute),
        tuple(
            PeerMember(
                Contact(p, f"Naam {p}", "", "", f"{p}@x", o, f"Org {o}"),
                coord,
                T0 + timedelta(minutes=minute),
            )
            for p, o, coord in members
        ),
    )


def decide(
    involvements: list[domain.Involvement], presences: list[Presence], before: domain.Match | None = None
) -> domain.Decision:
    return federation.decide_cross(
        "rotterdam", involvements, presences, before, RULES, pseudonym="1.p", now=T0, new_match_id="m1"
    )


def test_settings_need_a_pin_for_every_peer_and_parse_shares() -> None:
    with pytest.raises(ConfigError):
        federation.parse_peering("rotterdam", ["gm=h:1"], [], [])
    with pytest.raises(ConfigError):
        federation.parse_peering("rotterdam", ["rotterdam=h:1"], ["rotterdam=ab"], [])
    p = federation.parse_peering("rotterdam", ["gm=h:1"], ["gm=AB:CD|ef"], ["gm=o1|o2"])
    assert p.pinned("gm", "abcd") and p.pinned("gm", "EF") and not p.pinned("other", "ef")
    assert p.shares("gm", "o1") and not p.shares("gm", "o3")
    assert federation.parse_peering("r", ["gm=h:1"], ["gm=ab"], ["gm=*"]).shares("gm", "anything")


def test_state_follows_the_active_signals() -> None:
    assert federation.outgoing_state([inv("a", "o1")], erased=True) is State.PRESENT
    assert federation.outgoing_state([inv("a", "o1", active=False)], erased=False) is State.ABSENT
    assert federation.outgoing_state([], erased=True) is State.ERASED


def test_who_hears_of_a_change() -> None:
    assert federation.worth_telling(State.PRESENT, None)
    assert not federation.worth_telling(State.ABSENT, None) and not federation.worth_telling(
        State.ABSENT, "absent"
    )
    assert federation.worth_telling(State.ABSENT, "present")
    assert federation.worth_telling(State.ERASED, "absent") and not federation.worth_telling(
        State.ERASED, None
    )


def test_only_shared_organisations_cross_with_professionals() -> None:
    p = federation.parse_peering("rotterdam", ["gm=h:1"], ["gm=ab"], ["gm=o1"])
    members = federation.shared_members(p, "gm", None, [inv("a", "o1"), inv("b", "o2"), inv("c", "o2", 1)])
    assert [m.contact.professional_id for m in members] == ["a", "organisatie:o2"]
    hidden = members[1].contact
    assert hidden.organisation_name == "Org o2" and not (hidden.name or hidden.email or hidden.phone)


def test_a_cross_region_match_needs_an_own_signal_and_two_organisations() -> None:
    # The peer alone (no active signal here): nothing, whatever the peer has.
    assert decide([], [peer("gm", ("x", "o9", True))]).after is None
    # Same organisation id on both sides still counts as two organisations (region prefix).
    d = decide([inv("a", "o1")], [peer("gm", ("x", "o1", True), minute=5)])
    assert d.after is not None and d.after.kind == "cross-region"
    assert {m.organisation_id for m in d.after.members} == {"o1", "gm/o1"}
    # Only this region's members are told here; the peer tells its own.
    (change,) = d.changes
    assert change.kind is domain.ChangeKind.CREATED and [c.professional_id for c in change.recipients] == [
        "a"
    ]
    # The peer goes absent: the match closes, and this region's members are told.
    closed = decide([inv("a", "o1")], [peer("gm", present=False)], before=d.after)
    assert closed.after is not None and closed.after.status is domain.MatchStatus.CLOSED
    assert [c.professional_id for c in closed.changes[0].recipients] == ["a"]


def test_the_region_of_the_first_signal_coordinates() -> None:
    # Rotterdam signalled first: its own rules choose among its members.
    d = decide([inv("a", "o1", minute=3)], [peer("gm", ("x", "o9", True), minute=5)])
    assert d.after is not None and d.after.coordinator_id == "a"
    # Gelderland-Midden first: the member it flags coordinates here too.
    d = decide([inv("a", "o1", minute=3)], [peer("gm", ("x", "o9", False), ("y", "o8", True), minute=1)])
    assert d.after is not None and d.after.coordinator_id == "gm/y"
    # A tie goes to the smaller region id ("gelderland-midden" < "rotterdam").
    assert federation.coordinating_region("rotterdam", T0, [peer("gelderland-midden", minute=0)]) == (
        "gelderland-midden"
    )
