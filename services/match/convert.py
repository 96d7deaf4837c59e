"""Conversions between the contracts (protobuf) and the domain's plain data."""

from collections.abc import Sequence
from datetime import date, datetime

from sluis.match.v1 import match_pb2 as pb
from sluis.signal.v1 import signal_pb2
from sluis.types.v1 import processing_log_pb2 as lpb

from services.common import processing_log
from services.common.clock import Clock
from services.common.contacts import contact_from_proto, contact_to_proto
from services.common.protos import from_timestamp, to_timestamp
from services.match import domain

_ACTIVE_KINDS = {
    signal_pb2.SIGNAL_EVENT_KIND_REGISTERED,
    signal_pb2.SIGNAL_EVENT_KIND_RENEWED,
    signal_pb2.SIGNAL_EVENT_KIND_LAPSING_SOON,
    signal_pb2.SIGNAL_EVENT_KIND_TRANSFERRED,
    # Lifted: disclosed again; restricted: hidden below (event.restricted).
    signal_pb2.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED,
    signal_pb2.SIGNAL_EVENT_KIND_FAMILY_CHANGED,
}

KIND_TO_PB = {
    domain.ChangeKind.CREATED: pb.MATCH_EVENT_KIND_CREATED,
    domain.ChangeKind.MEMBER_JOINED: pb.MATCH_EVENT_KIND_MEMBER_JOINED,
    domain.ChangeKind.MEMBER_LEFT: pb.MATCH_EVENT_KIND_MEMBER_LEFT,
    domain.ChangeKind.CLOSED: pb.MATCH_EVENT_KIND_CLOSED,
    domain.ChangeKind.COORDINATOR_CHANGED: pb.MATCH_EVENT_KIND_COORDINATOR_CHANGED,
    domain.ChangeKind.HANDOVER_REQUESTED: pb.MATCH_EVENT_KIND_HANDOVER_REQUESTED,
    domain.ChangeKind.TAKEOVER_REQUESTED: pb.MATCH_EVENT_KIND_TAKEOVER_REQUESTED,
    domain.ChangeKind.TAKEOVER_DECLINED: pb.MATCH_EVENT_KIND_TAKEOVER_DECLINED,
    domain.ChangeKind.HANDOVER_DECLINED: pb.MATCH_EVENT_KIND_HANDOVER_DECLINED,
}


def update_from_event(event: signal_pb2.SignalEvent, clock: Clock) -> domain.SignalUpdate | None:
    """The domain update of a signal event; None for kinds that do not concern matching."""
    if event.kind in _ACTIVE_KINDS:
        # Restriction of processing (AVG art. 18): the signal stays stored in signal, but here
        # it counts as not active: no match discloses it and nobody is told of it joining.
        change = domain.SignalChange.INACTIVE if event.restricted else domain.SignalChange.ACTIVE
    elif event.kind == signal_pb2.SIGNAL_EVENT_KIND_ENDED:
        change = domain.SignalChange.INACTIVE
    elif event.kind == signal_pb2.SIGNAL_EVENT_KIND_DELETED:
        change = domain.SignalChange.DELETED
    else:
        return None
    registered = from_timestamp(event.registered_at) or from_timestamp(event.occurred_at) or clock.now()
    return domain.SignalUpdate(
        signal_id=event.signal_id,
        pseudonym=event.pseudonym,
        version=event.signal_version,
        change=change,
        contact=contact_from_proto(event.professional),
        may_coordinate=event.may_coordinate,
        domains=tuple(event.domains),
        registered_at=registered,
        transferred_from=event.transferred_from_professional_id.strip(),
        parent_pseudonyms=tuple(p for p in event.parent_pseudonyms if p),
        adult_on=_date(event.adult_on),
    )


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


KIND_OF_MATCH = {
    "person": pb.MATCH_KIND_PERSON,
    "family": pb.MATCH_KIND_FAMILY,
    "cross-region": pb.MATCH_KIND_CROSS_REGION,
}


def member_to_pb(m: domain.Member, coordinator_id: str) -> pb.Member:
    return pb.Member(
        professional=contact_to_proto(m.contact),
        joined_at=to_timestamp(m.joined_at),
        is_coordinator=m.professional_id == coordinator_id,
    )


def match_to_pb(m: domain.Match, viewer: str = "") -> pb.Match:
    """The match; seen by `viewer` (a professional id) it names their own signal in it."""
    me = m.member(viewer) if viewer else None
    return pb.Match(
        own_signal_id=me.signal_id if me is not None else "",
        match_id=m.match_id,
        status=pb.MATCH_STATUS_OPEN if m.status is domain.MatchStatus.OPEN else pb.MATCH_STATUS_CLOSED,
        members=[member_to_pb(x, m.coordinator_id) for x in m.members],
        coordinator_professional_id=m.coordinator_id,
        pending_coordinator_professional_id=m.pending_coordinator_id,
        created_at=to_timestamp(m.created_at),
        closed_at=to_timestamp(m.closed_at),
        kind=KIND_OF_MATCH.get(m.kind, pb.MATCH_KIND_PERSON),
        takeover_professional_id=m.takeover_id,
        takeover_due_at=to_timestamp(m.takeover_due),
        coordinator_offered=m.offered,
        offer_due_at=to_timestamp(m.offer_due),
    )


def log_subjects(pseudonyms: Sequence[str]) -> list[lpb.LogSubject]:
    """The persons a match is about, sealed for notify's processing-log lines."""
    out = []
    for p in dict.fromkeys(pseudonyms):
        sealed = processing_log.seal(p)
        out.append(lpb.LogSubject(subject_id=sealed.subject_id, subject_tag=sealed.tag))
    return out


def change_to_event(
    change: domain.Change,
    event_id: str,
    occurred_at: datetime,
    bulk: bool,
    subjects: Sequence[str] = (),
) -> bytes:
    """The serialised MatchEvent for the outbox (destination notify). `subjects`: the persons
    the match is about (default its own person; a family match: every family member)."""
    event = pb.MatchEvent(
        event_id=event_id,
        kind=KIND_TO_PB[change.kind],
        match_id=change.match.match_id,
        members=[member_to_pb(x, change.match.coordinator_id) for x in change.match.members],
        recipients=[contact_to_proto(c) for c in change.recipients],
        occurred_at=to_timestamp(occurred_at),
        bulk=bulk,
        match_kind=KIND_OF_MATCH.get(change.match.kind, pb.MATCH_KIND_PERSON),
        log_subjects=log_subjects(subjects or [change.match.pseudonym]),
    )
    if change.subject is not None:
        event.subject.CopyFrom(contact_to_proto(change.subject))
    event.joined.extend(contact_to_proto(c) for c in change.joined)
    event.left.extend(contact_to_proto(c) for c in change.left)
    if change.new_coordinator is not None:
        event.new_coordinator.CopyFrom(contact_to_proto(change.new_coordinator))
        event.coordinator_offered = change.offered
    if change.suggested is not None:
        event.handover_suggested_to.CopyFrom(contact_to_proto(change.suggested))
    return event.SerializeToString()


def rules_to_pb(r: domain.CoordinatorRules) -> pb.CoordinatorRules:
    return pb.CoordinatorRules(
        organisation_priority=list(r.organisation_priority),
        domain_priority=list(r.domain_priority),
        version=r.version,
        created_at=to_timestamp(r.created_at),
        created_by=r.created_by,
    )


def merge_entry_event(
    pending: bytes, change: domain.Change, bulk: bool, subjects: Sequence[str] = ()
) -> bytes:
    """A pending CREATED/MEMBER_JOINED event that also announces a later joining.

    Keeps the pending event's id, kind, subject and time (it has not been sent); takes the
    current member list and adds the new recipients, so each professional is told once.
    """
    event = pb.MatchEvent.FromString(pending)
    del event.members[:]
    event.members.extend(member_to_pb(m, change.match.coordinator_id) for m in change.match.members)
    known = {r.professional_id for r in event.recipients}
    event.recipients.extend(contact_to_proto(c) for c in change.recipients if c.professional_id not in known)
    announced = {j.professional_id for j in event.joined}
    event.joined.extend(contact_to_proto(c) for c in change.joined if c.professional_id not in announced)
    if change.suggested is not None:
        event.handover_suggested_to.CopyFrom(contact_to_proto(change.suggested))
    event.bulk = event.bulk and bulk
    # A family member who came in with the joining is told about too (by tag: seals differ).
    tags = {s.subject_tag for s in event.log_subjects}
    event.log_subjects.extend(s for s in log_subjects(subjects) if s.subject_tag not in tags)
    return event.SerializeToString()
