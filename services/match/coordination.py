"""Coordination that people agree to: pure functions on a match, no I/O.

- Take-over: a member asks for the role; with the region's acceptance rule the sitting
  coordinator accepts or declines, and without an answer the role passes when the timeout
  (working days) has run out. Without the rule the role passes at once.
- Hand-over: the coordinator proposes a member, who accepts or declines.
- Succession (domain.decide): when the coordinator leaves, the next by the rules holds the
  role as an offer; they accept or decline (then the next is offered), and an offer without
  an answer counts as accepted at its timeout.
- A profile change that takes `mayCoordinate` away hands the role on by the same rules.

Every action returns a `domain.Decision`; its changes say who is told (one notice each).
"""

from dataclasses import replace
from datetime import datetime

from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.match.domain import (
    Change,
    ChangeKind,
    CoordinationPolicy,
    CoordinatorRules,
    Decision,
    Match,
    MatchStatus,
    Member,
    add_working_days,
    not_found,
    successor,
)


def _open_member(match: Match | None, professional_id: str) -> tuple[Match, Member]:
    """The match and the asking member; NotFound (as for an unknown match) otherwise."""
    if match is None or match.status is not MatchStatus.OPEN:
        raise not_found()
    member = match.member(professional_id)
    if member is None:
        raise not_found()
    return match, member


def _settled(match: Match, coordinator_id: str) -> Match:
    """The match with `coordinator_id` as the agreed coordinator: no request or offer open."""
    return replace(
        match,
        coordinator_id=coordinator_id,
        pending_coordinator_id="",
        takeover_id="",
        takeover_due=None,
        offered=False,
        offer_due=None,
        declined=(),
    )


def _changed(before: Match, after: Match, new: Member, *, offered: bool = False) -> Decision:
    everyone = tuple(m.contact for m in after.members)
    change = Change(
        ChangeKind.COORDINATOR_CHANGED,
        after,
        new.contact,
        everyone,
        new_coordinator=new.contact,
        offered=offered,
    )
    return Decision(before, after, (change,))


def take_coordinator(
    match: Match | None, professional_id: str, policy: CoordinationPolicy, now: datetime
) -> Decision:
    """A member asks for the role; their organisation must be allowed to coordinate."""
    match, member = _open_member(match, professional_id)
    if match.coordinator_id == professional_id:
        return Decision(match, match)
    if not member.may_coordinate:
        raise PermissionDenied(
            "may_not_coordinate", "Uw organisatie mag de rol van matchregisseur niet vervullen."
        )
    if not policy.takeover_acceptance:
        return _changed(match, _settled(match, professional_id), member)
    if match.takeover_id == professional_id:
        return Decision(match, match)
    if match.takeover_id:
        raise FailedPrecondition(
            "takeover_pending",
            "Een andere betrokkene heeft al gevraagd de rol over te nemen; wacht op het antwoord.",
        )
    after = replace(
        match, takeover_id=professional_id, takeover_due=add_working_days(now, policy.takeover_timeout_days)
    )
    sitting = match.member(match.coordinator_id)
    recipients = (sitting.contact,) if sitting is not None else ()
    return Decision(match, after, (Change(ChangeKind.TAKEOVER_REQUESTED, after, member.contact, recipients),))


def respond_takeover(match: Match | None, professional_id: str, accept: bool) -> Decision:
    """The sitting coordinator accepts (the role passes) or declines a take-over request."""
    match, me = _open_member(match, professional_id)
    if match.coordinator_id != professional_id or not match.takeover_id:
        raise FailedPrecondition("no_takeover", "Er is geen verzoek om uw rol over te nemen.")
    asking = match.member(match.takeover_id)
    assert asking is not None  # decide() drops a request of a member who left
    if accept:
        return _changed(match, _settled(match, asking.professional_id), asking)
    after = replace(match, takeover_id="", takeover_due=None)
    return Decision(
        match, after, (Change(ChangeKind.TAKEOVER_DECLINED, after, me.contact, (asking.contact,)),)
    )


def hand_over_coordinator(match: Match | None, professional_id: str, to_professional_id: str) -> Decision:
    """The coordinator offers the role to another member, who must accept."""
    match, _ = _open_member(match, professional_id)
    if match.coordinator_id != professional_id:
        raise FailedPrecondition("not_coordinator", "Alleen de matchregisseur kan de rol overdragen.")
    if to_professional_id == professional_id:
        raise InvalidArgument("handover_to_self", "U bent al matchregisseur.")
    proposed = match.member(to_professional_id)
    if proposed is None:
        raise FailedPrecondition(
            "not_a_member", "De rol kan alleen worden overgedragen aan een betrokkene in deze match."
        )
    if not proposed.may_coordinate:
        raise FailedPrecondition(
            "may_not_coordinate",
            "De organisatie van deze betrokkene mag de rol van matchregisseur niet vervullen.",
        )
    if match.pending_coordinator_id == to_professional_id:
        return Decision(match, match)
    after = replace(match, pending_coordinator_id=to_professional_id)
    return Decision(
        match,
        after,
        (Change(ChangeKind.HANDOVER_REQUESTED, after, proposed.contact, (proposed.contact,)),),
    )


def accept_coordinator(match: Match | None, professional_id: str) -> Decision:
    """The member accepts a proposed hand-over (and becomes coordinator) or their succession
    offer (they keep the role, now agreed; everybody was told when it was offered)."""
    match, member = _open_member(match, professional_id)
    if match.pending_coordinator_id == professional_id:
        return _changed(match, _settled(match, professional_id), member)
    if match.coordinator_id == professional_id and match.offered:
        return Decision(match, _settled(match, professional_id))
    raise FailedPrecondition("no_handover", "Er is geen overdracht van de rol aan u voorgesteld.")


def decline_coordinator(
    match: Match | None,
    professional_id: str,
    rules: CoordinatorRules,
    policy: CoordinationPolicy,
    now: datetime,
) -> Decision:
    """The member declines a proposed hand-over (the coordinator is told) or their succession
    offer (the next by the rules is offered the role; everybody is told)."""
    match, member = _open_member(match, professional_id)
    if match.pending_coordinator_id == professional_id:
        after = replace(match, pending_coordinator_id="")
        sitting = match.member(match.coordinator_id)
        recipients = (sitting.contact,) if sitting is not None else ()
        return Decision(
            match, after, (Change(ChangeKind.HANDOVER_DECLINED, after, member.contact, recipients),)
        )
    if match.coordinator_id == professional_id and match.offered:
        declined = (*match.declined, professional_id)
        if all(m.professional_id in declined for m in match.members):
            # Everybody declined: the role stays where it is (a match needs a contact point).
            return Decision(match, replace(match, offered=False, offer_due=None, declined=()))
        nxt = successor(match.members, rules, declined)
        after = replace(
            _settled(match, nxt.professional_id),
            offered=True,
            offer_due=add_working_days(now, policy.offer_timeout_days),
            declined=declined,
        )
        return _changed(match, after, nxt, offered=True)
    raise FailedPrecondition("no_handover", "Er is geen overdracht van de rol aan u voorgesteld.")


def expire(match: Match, now: datetime) -> Decision:
    """Timeouts: an unanswered take-over passes the role; an unanswered offer counts as accepted."""
    if match.takeover_id and match.takeover_due is not None and match.takeover_due <= now:
        asking = match.member(match.takeover_id)
        if asking is not None:
            return _changed(match, _settled(match, asking.professional_id), asking)
    if match.offered and match.offer_due is not None and match.offer_due <= now:
        return Decision(match, _settled(match, match.coordinator_id))
    return Decision(match, match)


def organisation_profile_changed(
    match: Match,
    organisation_id: str,
    may_coordinate: bool,
    rules: CoordinatorRules,
    policy: CoordinationPolicy,
    now: datetime,
) -> Decision:
    """The organisation's `mayCoordinate` changed: members of it carry the new flag; when it
    was taken away from the coordinator's organisation the role goes on by the rules (offered
    as in a succession) and every member is told."""
    members = tuple(
        replace(m, may_coordinate=may_coordinate) if m.organisation_id == organisation_id else m
        for m in match.members
    )
    after = replace(match, members=members)
    if may_coordinate:
        return Decision(match, after)
    lost = {m.professional_id for m in members if m.organisation_id == organisation_id}
    if after.pending_coordinator_id in lost:
        after = replace(after, pending_coordinator_id="")
    if after.takeover_id in lost:
        after = replace(after, takeover_id="", takeover_due=None)
    if after.coordinator_id not in lost:
        return Decision(match, after)
    nxt = successor(members, rules)
    if nxt.professional_id in lost:
        return Decision(match, after)  # nobody else may coordinate: rule 3 keeps a contact point
    after = replace(
        _settled(after, nxt.professional_id),
        offered=policy.succession_offer,
        offer_due=add_working_days(now, policy.offer_timeout_days) if policy.succession_offer else None,
    )
    return _changed(match, after, nxt, offered=policy.succession_offer)
