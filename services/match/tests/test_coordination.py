"""Coordination that people agree to (issue 17) and profile changes that take effect (issue 22):
take-over acceptance, decline and timeout, succession offers, the late-joining preferred
organisation, and losing mayCoordinate. Pure functions, no I/O."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition
from services.match import coordination, domain
from services.match.domain import ChangeKind as K
from services.match.tests.test_domain import NOW, A, B, C, D, P, ended, ids, kinds, open_match

AGREE = domain.CoordinationPolicy(
    takeover_acceptance=True,
    takeover_timeout_days=5,
    succession_offer=True,
    offer_timeout_days=5,
    handover_suggestion=True,
)
NO_RULES = domain.CoordinatorRules()
BY_ORG = domain.CoordinatorRules(organisation_priority=("o3", "o2"), version=1)


def decide(involvements, before, rules=NO_RULES, policy=AGREE) -> domain.Decision:
    return domain.decide(involvements, before, rules, pseudonym=P, now=NOW, new_match_id="m-1", policy=policy)


# --- working days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (datetime(2026, 6, 1, 10, tzinfo=UTC), 5, datetime(2026, 6, 8, 10, tzinfo=UTC)),  # Mon -> Mon
        (datetime(2026, 6, 5, 10, tzinfo=UTC), 1, datetime(2026, 6, 8, 10, tzinfo=UTC)),  # Fri -> Mon
        (datetime(2026, 6, 6, 10, tzinfo=UTC), 1, datetime(2026, 6, 8, 10, tzinfo=UTC)),  # Sat -> Mon
        (datetime(2026, 6, 3, 10, tzinfo=UTC), 5, datetime(2026, 6, 10, 10, tzinfo=UTC)),  # Wed -> Wed
    ],
)
def test_working_days(start: datetime, days: int, expected: datetime) -> None:
    assert domain.add_working_days(start, days) == expected


def test_no_timeout_when_zero_days() -> None:
    assert domain.add_working_days(NOW, 0) is None


# --- take-over: accept, decline, timeout ----------------------------------------------------


def test_take_over_asks_the_sitting_coordinator() -> None:
    before = open_match(A, B, C, coordinator="a")
    asked = coordination.take_coordinator(before, "c", AGREE, NOW)
    assert asked.after is not None
    assert asked.after.coordinator_id == "a" and asked.after.takeover_id == "c"
    assert asked.after.takeover_due == domain.add_working_days(NOW, 5)
    assert kinds(asked) == [K.TAKEOVER_REQUESTED]
    assert ids(asked.changes[0].recipients) == ["a"]
    assert asked.changes[0].subject is not None and asked.changes[0].subject.professional_id == "c"


def test_take_over_accepted() -> None:
    asked = coordination.take_coordinator(open_match(A, B, C, coordinator="a"), "c", AGREE, NOW).after
    accepted = coordination.respond_takeover(asked, "a", accept=True)
    assert accepted.after is not None
    assert accepted.after.coordinator_id == "c" and accepted.after.takeover_id == ""
    assert kinds(accepted) == [K.COORDINATOR_CHANGED]
    assert ids(accepted.changes[0].recipients) == ["a", "b", "c"]


def test_take_over_declined() -> None:
    asked = coordination.take_coordinator(open_match(A, B, C, coordinator="a"), "c", AGREE, NOW).after
    declined = coordination.respond_takeover(asked, "a", accept=False)
    assert declined.after is not None
    assert declined.after.coordinator_id == "a" and declined.after.takeover_id == ""
    assert kinds(declined) == [K.TAKEOVER_DECLINED]
    assert ids(declined.changes[0].recipients) == ["c"]


def test_take_over_passes_at_the_timeout_and_not_before() -> None:
    asked = coordination.take_coordinator(open_match(A, B, C, coordinator="a"), "c", AGREE, NOW).after
    assert asked is not None and asked.takeover_due is not None
    early = coordination.expire(asked, asked.takeover_due - timedelta(seconds=1))
    assert early.after == asked and early.changes == ()
    due = coordination.expire(asked, asked.takeover_due)
    assert due.after is not None and due.after.coordinator_id == "c"
    assert kinds(due) == [K.COORDINATOR_CHANGED]


def test_only_the_coordinator_answers_and_one_request_at_a_time() -> None:
    asked = coordination.take_coordinator(open_match(A, B, C, coordinator="a"), "c", AGREE, NOW).after
    with pytest.raises(FailedPrecondition) as exc:
        coordination.respond_takeover(asked, "b", accept=True)
    assert exc.value.reason == "no_takeover"
    with pytest.raises(FailedPrecondition) as exc:
        coordination.take_coordinator(asked, "b", AGREE, NOW)
    assert exc.value.reason == "takeover_pending"
    assert coordination.take_coordinator(asked, "c", AGREE, NOW).changes == ()  # asking twice


def test_take_over_at_once_when_the_region_turned_acceptance_off() -> None:
    at_once = replace(AGREE, takeover_acceptance=False)
    taken = coordination.take_coordinator(open_match(A, B, C, coordinator="a"), "c", at_once, NOW)
    assert taken.after is not None and taken.after.coordinator_id == "c"
    assert kinds(taken) == [K.COORDINATOR_CHANGED]


def test_a_request_of_a_member_who_left_is_dropped() -> None:
    asked = coordination.take_coordinator(open_match(A, B, C, coordinator="a"), "c", AGREE, NOW).after
    decision = decide([A, B, ended(C)], asked)
    assert decision.after is not None and decision.after.takeover_id == ""


# --- succession: offer, accept, decline, timeout ----------------------------------------------


def test_succession_offers_the_role_in_the_one_leave_notice() -> None:
    before = open_match(A, B, C, D, coordinator="a")
    decision = decide([ended(A), B, C, D], before, BY_ORG)
    after = decision.after
    assert after is not None and after.coordinator_id == "c" and after.offered
    assert after.offer_due == domain.add_working_days(NOW, 5)
    assert kinds(decision) == [K.MEMBER_LEFT]
    told = decision.changes[0]
    assert told.new_coordinator is not None and told.new_coordinator.professional_id == "c"
    assert told.offered


def test_succession_offer_accepted() -> None:
    offered = decide([ended(A), B, C, D], open_match(A, B, C, D, coordinator="a"), BY_ORG).after
    accepted = coordination.accept_coordinator(offered, "c")
    assert accepted.after is not None and accepted.after.coordinator_id == "c"
    assert not accepted.after.offered and accepted.after.offer_due is None
    assert accepted.changes == ()  # everybody was told when the role was offered


def test_succession_offer_declined_goes_to_the_next_candidate() -> None:
    offered = decide([ended(A), B, C, D], open_match(A, B, C, D, coordinator="a"), BY_ORG).after
    declined = coordination.decline_coordinator(offered, "c", BY_ORG, AGREE, NOW)
    after = declined.after
    assert after is not None and after.coordinator_id == "b" and after.offered  # o2 next on the list
    assert after.declined == ("c",)
    assert kinds(declined) == [K.COORDINATOR_CHANGED]
    change = declined.changes[0]
    assert change.offered and ids(change.recipients) == ["b", "c", "d"]
    # b declines too: d (earliest of the rest); d declines: nobody is left, the role stays.
    after_b = coordination.decline_coordinator(after, "b", BY_ORG, AGREE, NOW).after
    assert after_b is not None and after_b.coordinator_id == "d"
    last = coordination.decline_coordinator(after_b, "d", BY_ORG, AGREE, NOW)
    assert last.after is not None and last.after.coordinator_id == "d" and not last.after.offered
    assert last.changes == ()


def test_succession_offer_counts_as_accepted_at_its_timeout() -> None:
    offered = decide([ended(A), B, C, D], open_match(A, B, C, D, coordinator="a"), BY_ORG).after
    assert offered is not None and offered.offer_due is not None
    done = coordination.expire(offered, offered.offer_due)
    assert done.after is not None and done.after.coordinator_id == "c" and not done.after.offered
    assert done.changes == ()


def test_succession_without_offer_when_turned_off() -> None:
    plain = replace(AGREE, succession_offer=False)
    decision = decide([ended(A), B, C, D], open_match(A, B, C, D, coordinator="a"), BY_ORG, plain)
    assert decision.after is not None and not decision.after.offered
    assert not decision.changes[0].offered


def test_declining_a_proposed_hand_over_tells_the_coordinator() -> None:
    proposed = coordination.hand_over_coordinator(open_match(A, B, C, coordinator="a"), "a", "b").after
    declined = coordination.decline_coordinator(proposed, "b", NO_RULES, AGREE, NOW)
    assert declined.after is not None
    assert declined.after.coordinator_id == "a" and declined.after.pending_coordinator_id == ""
    assert kinds(declined) == [K.HANDOVER_DECLINED] and ids(declined.changes[0].recipients) == ["a"]


def test_nothing_to_decline() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        coordination.decline_coordinator(open_match(A, B, coordinator="a"), "b", NO_RULES, AGREE, NOW)
    assert exc.value.reason == "no_handover"


# --- the late-joining preferred organisation ---------------------------------------------------


def test_a_preferred_organisation_joining_later_gets_a_hand_over_suggestion() -> None:
    before = open_match(A, B, coordinator="a")  # o3 first on the list, not yet involved
    decision = decide([A, B, C], before, BY_ORG)
    assert decision.after is not None and decision.after.coordinator_id == "a"  # rule 1: the role stays
    assert kinds(decision) == [K.MEMBER_JOINED]
    joined = decision.changes[0]
    assert joined.suggested is not None and joined.suggested.professional_id == "c"
    # The coordinator and the preferred organisation's professional are both recipients.
    assert {"a", "c"} <= set(ids(joined.recipients))


@pytest.mark.parametrize(
    ("description", "before", "after", "rules"),
    [
        ("no rules", open_match(A, B, coordinator="a"), [A, B, C], NO_RULES),
        ("newcomer ranked lower", open_match(A, C, coordinator="c"), [A, C, B], BY_ORG),
        (
            "preferred organisation may not coordinate",
            open_match(A, B, coordinator="a"),
            [A, B, replace(C, may_coordinate=False)],
            BY_ORG,
        ),
    ],
)
def test_no_suggestion(description, before, after, rules) -> None:
    decision = decide(after, before, rules)
    assert all(c.suggested is None for c in decision.changes)


def test_no_suggestion_when_turned_off() -> None:
    decision = decide(
        [A, B, C], open_match(A, B, coordinator="a"), BY_ORG, replace(AGREE, handover_suggestion=False)
    )
    assert decision.changes[0].suggested is None


# --- issue 22: a profile change takes effect --------------------------------------------------


def test_losing_may_coordinate_hands_the_role_on_and_tells_everybody() -> None:
    before = open_match(A, B, C, D, coordinator="c")
    decision = coordination.organisation_profile_changed(before, "o3", False, BY_ORG, AGREE, NOW)
    after = decision.after
    assert after is not None and after.coordinator_id == "b" and after.offered
    assert not after.member("c").may_coordinate  # type: ignore[union-attr]
    assert kinds(decision) == [K.COORDINATOR_CHANGED]
    assert ids(decision.changes[0].recipients) == ["a", "b", "c", "d"]


def test_losing_may_coordinate_of_another_organisation_changes_only_the_flag() -> None:
    before = open_match(A, B, C, coordinator="a", pending="b")
    decision = coordination.organisation_profile_changed(before, "o2", False, BY_ORG, AGREE, NOW)
    assert decision.after is not None and decision.after.coordinator_id == "a"
    assert decision.after.pending_coordinator_id == ""  # b may no longer accept the role
    assert decision.changes == ()


def test_when_nobody_else_may_coordinate_the_role_stays() -> None:
    before = open_match(A, replace(B, may_coordinate=False), coordinator="a")
    decision = coordination.organisation_profile_changed(before, "o1", False, NO_RULES, AGREE, NOW)
    assert decision.after is not None and decision.after.coordinator_id == "a"
    assert decision.changes == ()
