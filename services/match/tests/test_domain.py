"""Table-driven tests of the matching and coordinator rules (pure functions, no I/O)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.match import coordination, domain
from services.match.domain import ChangeKind as K

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
P = "1.person"
# Take-over at once, no offers: the plain rules (the agreement rules: test_coordination.py).
PLAIN = domain.CoordinationPolicy()


def inv(
    prof: str,
    org: str,
    minute: int = 0,
    *,
    may: bool = True,
    domains: tuple[str, ...] = (),
    active: bool = True,
    version: int = 1,
) -> domain.Involvement:
    return domain.Involvement(
        signal_id=f"s-{prof}-{minute}",
        pseudonym=P,
        contact=domain.Contact(prof, name=prof.upper(), organisation_id=org),
        may_coordinate=may,
        domains=domains,
        registered_at=T0 + timedelta(minutes=minute),
        active=active,
        version=version,
    )


def decide(
    involvements: list[domain.Involvement],
    before: domain.Match | None = None,
    rules: domain.CoordinatorRules | None = None,
) -> domain.Decision:
    return domain.decide(
        involvements,
        before,
        rules or domain.CoordinatorRules(),
        pseudonym=P,
        now=NOW,
        new_match_id="m-1",
    )


def ids(contacts: tuple[domain.Contact, ...] | list[domain.Contact]) -> list[str]:
    return sorted(c.professional_id for c in contacts)


def kinds(decision: domain.Decision) -> list[K]:
    return [c.kind for c in decision.changes]


# --- the matching rule ---------------------------------------------------------------------

MATCHING_CASES = [
    # (description, involvements, match expected, members)
    ("one signal", [inv("a", "o1")], False, []),
    ("two signals of one organisation", [inv("a", "o1"), inv("b", "o1", 1)], False, []),
    ("two organisations", [inv("a", "o1"), inv("b", "o2", 1)], True, ["a", "b"]),
    ("ended signal does not count", [inv("a", "o1"), inv("b", "o2", 1, active=False)], False, []),
    (
        "three signals, two organisations",
        [inv("a", "o1"), inv("b", "o1", 1), inv("c", "o2", 2)],
        True,
        ["a", "b", "c"],
    ),
    (
        "one professional with two signals counts once",
        [inv("a", "o1"), inv("a", "o1", 5), inv("b", "o2", 1)],
        True,
        ["a", "b"],
    ),
]


@pytest.mark.parametrize(("description", "involvements", "expected", "members"), MATCHING_CASES)
def test_matching_rule(description, involvements, expected, members) -> None:
    decision = decide(involvements)
    if not expected:
        assert decision.after is None and decision.changes == ()
        return
    assert decision.after is not None
    assert sorted(m.professional_id for m in decision.after.members) == members
    assert kinds(decision) == [K.CREATED]
    assert ids(decision.changes[0].recipients) == members


def open_match(*involvements: domain.Involvement, coordinator: str = "", pending: str = "") -> domain.Match:
    members = domain.active_members(involvements, None, T0)
    return domain.Match(
        match_id="m-0",
        pseudonym=P,
        status=domain.MatchStatus.OPEN,
        members=tuple(members),
        coordinator_id=coordinator or members[0].professional_id,
        pending_coordinator_id=pending,
        created_at=T0,
    )


A, B, C, D = inv("a", "o1"), inv("b", "o2", 1), inv("c", "o3", 2), inv("d", "o1", 3)


def ended(i: domain.Involvement) -> domain.Involvement:
    return replace(i, active=False, version=i.version + 1)


# (description, before, involvements after, kinds, per kind: (subject, recipients), members after, status)
MEMBERSHIP_CASES = [
    (
        "a third organisation joins",
        open_match(A, B),
        [A, B, C],
        {K.MEMBER_JOINED: ("c", ["a", "b", "c"])},
        ["a", "b", "c"],
        domain.MatchStatus.OPEN,
    ),
    (
        "a colleague of a member's organisation joins",
        open_match(A, B),
        [A, B, D],
        {K.MEMBER_JOINED: ("d", ["a", "b", "d"])},
        ["a", "b", "d"],
        domain.MatchStatus.OPEN,
    ),
    (
        "leaving, still two organisations",
        open_match(A, B, C),
        [A, B, ended(C)],
        {K.MEMBER_LEFT: ("c", ["a", "b", "c"])},
        ["a", "b"],
        domain.MatchStatus.OPEN,
    ),
    (
        "leaving down to one organisation closes",
        open_match(A, B, D),
        [A, ended(B), D],
        {K.CLOSED: (None, ["a", "b", "d"])},
        ["a", "d"],
        domain.MatchStatus.CLOSED,
    ),
    (
        "join and leave in one burst: one event of each kind",
        open_match(A, B, C),
        [A, B, ended(C), D, inv("e", "o4", 9)],
        {K.MEMBER_JOINED: ("d", ["a", "b", "d", "e"]), K.MEMBER_LEFT: ("c", ["c"])},
        ["a", "b", "d", "e"],
        domain.MatchStatus.OPEN,
    ),
]


@pytest.mark.parametrize(
    ("description", "before", "after_involvements", "expected", "members", "status"), MEMBERSHIP_CASES
)
def test_membership_changes(description, before, after_involvements, expected, members, status) -> None:
    decision = decide(after_involvements, before)
    assert decision.after is not None
    assert decision.after.status is status
    assert sorted(m.professional_id for m in decision.after.members) == members
    assert {c.kind for c in decision.changes} == set(expected)
    for change in decision.changes:
        subject, recipients = expected[change.kind]
        assert (change.subject.professional_id if change.subject else None) == subject
        assert ids(change.recipients) == recipients
        assert change.match.match_id == "m-0"


def test_unchanged_involvements_change_nothing() -> None:
    before = open_match(A, B)
    decision = decide([A, B], before)
    assert decision.after == before and decision.changes == () and not decision.changed


def test_members_keep_their_joined_at() -> None:
    decision = decide([A, B, C], open_match(A, B))
    assert decision.after is not None
    joined = {m.professional_id: m.joined_at for m in decision.after.members}
    assert joined == {"a": T0, "b": T0, "c": NOW}


def test_a_burst_creates_one_match_with_everybody_told_once() -> None:
    burst = [inv(f"p{i}", f"o{i % 10}", i) for i in range(50)]
    decision = decide(burst)
    assert kinds(decision) == [K.CREATED]
    assert ids(decision.changes[0].recipients) == sorted(f"p{i}" for i in range(50))


# --- the coordinator ----------------------------------------------------------------------

RULES_BY_ORG = domain.CoordinatorRules(organisation_priority=("o3", "o2"), version=1)
RULES_BY_DOMAIN = domain.CoordinatorRules(domain_priority=("youth", "debt"), version=2)

COORDINATOR_CASES = [
    ("earliest signal without rules", [A, B, C], domain.CoordinatorRules(), "a"),
    ("first organisation of the priority list present", [A, B, C], RULES_BY_ORG, "c"),
    ("second organisation when the first is absent", [A, B], RULES_BY_ORG, "b"),
    ("no listed organisation present: earliest", [A, D, inv("x", "o9", 9)], RULES_BY_ORG, "a"),
    (
        "listed organisation that may not coordinate is skipped",
        [A, B, replace(C, may_coordinate=False)],
        RULES_BY_ORG,
        "b",
    ),
    (
        "earliest that may coordinate",
        [replace(A, may_coordinate=False), B, C],
        domain.CoordinatorRules(),
        "b",
    ),
    (
        "by domain priority",
        [A, inv("b", "o2", 1, domains=("debt",)), inv("c", "o3", 2, domains=("youth",))],
        RULES_BY_DOMAIN,
        "c",
    ),
    (
        "nobody may coordinate: earliest all the same",
        [replace(A, may_coordinate=False), replace(B, may_coordinate=False)],
        RULES_BY_ORG,
        "a",
    ),
    (
        "within the organisation the earliest signal",
        [inv("late", "o3", 50), inv("early", "o3", 40), A],
        RULES_BY_ORG,
        "early",
    ),
]


@pytest.mark.parametrize(("description", "involvements", "rules", "coordinator"), COORDINATOR_CASES)
def test_coordinator_on_creation(description, involvements, rules, coordinator) -> None:
    decision = decide(involvements, rules=rules)
    assert decision.after is not None
    assert decision.after.coordinator_id == coordinator
    created = decision.changes[0]
    assert created.subject is not None and created.subject.professional_id == coordinator


def test_coordinator_keeps_role_when_rules_or_members_change() -> None:
    before = open_match(A, B, coordinator="a")
    decision = decide([A, B, C], before, RULES_BY_ORG)
    assert decision.after is not None and decision.after.coordinator_id == "a"
    assert K.COORDINATOR_CHANGED not in kinds(decision)


SUCCESSION_CASES = [
    ("earliest remaining without rules", [ended(A), B, C, D], domain.CoordinatorRules(), "b"),
    ("by priority list", [ended(A), B, C, D], RULES_BY_ORG, "c"),
]


@pytest.mark.parametrize(("description", "after", "rules", "successor"), SUCCESSION_CASES)
def test_succession_when_coordinator_signal_ends(description, after, rules, successor) -> None:
    before = open_match(A, B, C, D, coordinator="a")
    decision = decide(after, before, rules)
    assert decision.after is not None and decision.after.coordinator_id == successor
    # One event per recipient (issue 17): the new coordinator is told in the MEMBER_LEFT event.
    assert kinds(decision) == [K.MEMBER_LEFT]
    left = decision.changes[0]
    assert left.new_coordinator is not None and left.new_coordinator.professional_id == successor
    assert ids(left.recipients) == ["a", "b", "c", "d"]


def test_exactly_one_coordinator_in_every_decision() -> None:
    decision = decide([inv(f"p{i}", f"o{i % 10}", 50 - i) for i in range(50)])
    assert decision.after is not None
    assert decision.after.member(decision.after.coordinator_id) is not None


def test_take_over() -> None:
    before = open_match(A, B, C, coordinator="a")
    decision = coordination.take_coordinator(before, "c", PLAIN, NOW)
    assert decision.after is not None and decision.after.coordinator_id == "c"
    assert kinds(decision) == [K.COORDINATOR_CHANGED]
    assert ids(decision.changes[0].recipients) == ["a", "b", "c"]


def test_take_over_refused_when_organisation_may_not_coordinate() -> None:
    before = open_match(A, replace(B, may_coordinate=False), coordinator="a")
    with pytest.raises(PermissionDenied):
        coordination.take_coordinator(before, "b", PLAIN, NOW)


def test_take_over_by_the_coordinator_is_a_no_op() -> None:
    before = open_match(A, B, coordinator="a")
    assert coordination.take_coordinator(before, "a", PLAIN, NOW).changes == ()


@pytest.mark.parametrize("who", ["x", ""])
def test_non_members_get_not_found(who: str) -> None:
    before = open_match(A, B)
    for call in (
        lambda: coordination.take_coordinator(before, who, PLAIN, NOW),
        lambda: coordination.hand_over_coordinator(before, who, "b"),
        lambda: coordination.accept_coordinator(before, who),
        lambda: coordination.take_coordinator(None, "a", PLAIN, NOW),
    ):
        with pytest.raises(NotFound) as exc:
            call()
        assert exc.value.detail == domain.NOT_FOUND_DETAIL


def test_hand_over_with_acceptance() -> None:
    before = open_match(A, B, C, coordinator="a")
    offered = coordination.hand_over_coordinator(before, "a", "b")
    assert offered.after is not None
    assert offered.after.coordinator_id == "a" and offered.after.pending_coordinator_id == "b"
    assert kinds(offered) == [K.HANDOVER_REQUESTED]
    assert ids(offered.changes[0].recipients) == ["b"]
    accepted = coordination.accept_coordinator(offered.after, "b")
    assert accepted.after is not None
    assert accepted.after.coordinator_id == "b" and accepted.after.pending_coordinator_id == ""
    assert kinds(accepted) == [K.COORDINATOR_CHANGED]
    assert ids(accepted.changes[0].recipients) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("by", "to", "error", "reason"),
    [
        ("b", "c", FailedPrecondition, "not_coordinator"),
        ("a", "a", InvalidArgument, "handover_to_self"),
        ("a", "x", FailedPrecondition, "not_a_member"),
        ("a", "n", FailedPrecondition, "may_not_coordinate"),
    ],
)
def test_hand_over_refusals(by, to, error, reason) -> None:
    before = open_match(A, B, C, inv("n", "o4", 8, may=False), coordinator="a")
    with pytest.raises(error) as exc:
        coordination.hand_over_coordinator(before, by, to)
    assert exc.value.reason == reason


def test_accept_without_hand_over_is_refused() -> None:
    with pytest.raises(FailedPrecondition):
        coordination.accept_coordinator(open_match(A, B, coordinator="a"), "b")


def test_pending_hand_over_dropped_when_the_proposed_member_leaves() -> None:
    before = open_match(A, B, C, coordinator="a", pending="c")
    decision = decide([A, B, ended(C)], before)
    assert decision.after is not None and decision.after.pending_coordinator_id == ""


# --- events: idempotence and order ----------------------------------------------------------


def update(version: int, active: bool = True) -> domain.SignalUpdate:
    return domain.SignalUpdate(
        signal_id="s1",
        pseudonym=P,
        version=version,
        change=domain.SignalChange.ACTIVE if active else domain.SignalChange.INACTIVE,
        contact=domain.Contact("a", organisation_id="o1"),
        may_coordinate=True,
        domains=(),
        registered_at=T0,
    )


@pytest.mark.parametrize(
    ("stored", "incoming", "result"),
    [
        (None, update(1), (True, 1)),
        (None, update(2, active=False), (False, 2)),  # ENDED before REGISTERED: stays inactive
        ((True, 1), update(1), None),  # redelivery
        ((False, 2), update(1), None),  # late REGISTERED after ENDED
        ((True, 1), update(2, active=False), (False, 2)),
        ((True, 2), update(3), (True, 3)),  # renewed
    ],
)
def test_apply_update(stored, incoming, result) -> None:
    current = None
    if stored is not None:
        current = domain.apply_update(None, update(stored[1], stored[0]))
    after = domain.apply_update(current, incoming)
    if result is None:
        assert after is None
    else:
        assert after is not None and (after.active, after.version) == result


def test_updates_in_any_order_end_in_the_newest_state() -> None:
    for order in (
        [update(1), update(2, active=False), update(1)],
        [update(2, active=False), update(1), update(1)],
    ):
        involvements: dict[str, domain.Involvement] = {}
        changed, stale = domain.apply_updates(involvements, order)
        assert [(i.active, i.version) for i in changed] == [(False, 2)]
        assert stale == 1  # the repeated version 1
        assert involvements["s1"].version == 2


def test_deleted_signal_keeps_only_a_tombstone() -> None:
    current = domain.apply_update(None, update(1))
    gone = replace(update(2, active=False), change=domain.SignalChange.DELETED)
    gone = replace(gone, contact=domain.Contact("a", name="A", email="a@x", organisation_id="o1"))
    after = domain.apply_update(current, gone)
    assert after is not None and not after.active
    assert after.contact == domain.Contact("a", organisation_id="o1")
    assert domain.apply_update(after, update(1)) is None


# --- visibility and rules -------------------------------------------------------------------

VISIBILITY_CASES = [
    ("member with an active signal", [A, B], "a", True),
    ("colleague without own signal", [A, B], "d", False),
    ("own signal ended", [ended(A), B], "a", False),
    ("stranger", [A, B], "x", False),
    ("active signal, no match yet", [A], "a", True),
]


@pytest.mark.parametrize(("description", "involvements", "professional", "visible"), VISIBILITY_CASES)
def test_visibility(description, involvements, professional, visible) -> None:
    assert domain.can_see(involvements, professional) is visible


def test_others_exclude_the_asker_and_inactive_signals() -> None:
    others = domain.others_involved([A, B, ended(C), D], None, "a")
    assert [m.professional_id for m in others] == ["b", "d"]


@pytest.mark.parametrize(
    ("orgs", "domains", "reason"),
    [
        (["o1", "o2"], ["youth", "debt"], None),
        ([], [], None),
        (["o1", "o1"], [], "duplicate_organisation"),
        (["o1", " "], [], "empty_organisation_id"),
        ([], ["youth", "youth"], "duplicate_domain"),
        ([], ["astrology"], "unknown_domain"),
        ([], [""], "empty_domain"),
    ],
)
def test_rule_validation(orgs, domains, reason) -> None:
    if reason is None:
        domain.validate_rules(orgs, domains)
        return
    with pytest.raises(InvalidArgument) as exc:
        domain.validate_rules(orgs, domains)
    assert exc.value.reason == reason
