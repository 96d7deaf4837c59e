"""Protobuf messages to REST JSON (camelCase) and REST choices to protobuf enums.

Never a pseudonym or BSN in anything produced here.
"""

from collections.abc import Mapping
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import types_pb2

from services.common.protos import from_timestamp

PREFIX = "/v1"

PARTY = {
    "person": spb.INFORMED_PARTY_PERSON,
    "legalRepresentative": spb.INFORMED_PARTY_LEGAL_REPRESENTATIVE,
    "both": spb.INFORMED_PARTY_BOTH,
}
METHOD = {
    "inPerson": spb.INFORMED_METHOD_IN_PERSON,
    "phone": spb.INFORMED_METHOD_PHONE,
    "letter": spb.INFORMED_METHOD_LETTER,
    "email": spb.INFORMED_METHOD_EMAIL,
}
POSTPONE = {"safety": spb.POSTPONE_REASON_SAFETY, "notReachable": spb.POSTPONE_REASON_NOT_REACHABLE}
CONSENT_BY = {
    "person": spb.CONSENT_BY_PERSON,
    "legalRepresentative": spb.CONSENT_BY_LEGAL_REPRESENTATIVE,
    "both": spb.CONSENT_BY_BOTH,
}
REPRESENTATIVE_REASON = {
    "guardianship": spb.REPRESENTATIVE_REASON_GUARDIANSHIP,
    "minor": spb.REPRESENTATIVE_REASON_MINOR,
}
END_REASON = {
    "goalReached": spb.END_REASON_GOAL_REACHED,
    "unjustified": spb.END_REASON_UNJUSTIFIED,
    "other": spb.END_REASON_OTHER,
    "expired": spb.END_REASON_EXPIRED,
    "objectionUpheld": spb.END_REASON_OBJECTION_UPHELD,
    "purged": spb.END_REASON_PURGED,
    "agedOut": spb.END_REASON_AGED_OUT,
    "deceased": spb.END_REASON_DECEASED,
}
LEGAL_BASIS = {"consent": spb.LEGAL_BASIS_CONSENT, "legalGround": spb.LEGAL_BASIS_LEGAL_GROUND}
STATUS = {"active": spb.SIGNAL_STATUS_ACTIVE, "archived": spb.SIGNAL_STATUS_ARCHIVED}
MATCH_STATUS = {match_pb2.MATCH_STATUS_OPEN: "open", match_pb2.MATCH_STATUS_CLOSED: "closed"}


def href(path: str) -> dict[str, str]:
    """A HAL link to a path under /v1."""
    return {"href": PREFIX + path}


def _reverse(mapping: Mapping[str, int]) -> dict[int, str]:
    return {v: k for k, v in mapping.items()}


_PARTY_NAME = _reverse(PARTY)
_METHOD_NAME = _reverse(METHOD)
_POSTPONE_NAME = _reverse(POSTPONE)
_END_NAME = _reverse(END_REASON)
_BASIS_NAME = _reverse(LEGAL_BASIS)
_STATUS_NAME = _reverse(STATUS)
_CONSENT_BY_NAME = _reverse(CONSENT_BY)
_REPRESENTATIVE_REASON_NAME = _reverse(REPRESENTATIVE_REASON)


def iso(ts: Timestamp) -> str | None:
    moment = from_timestamp(ts)
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def informed_json(rec: spb.InformedRecord) -> dict[str, Any]:
    if rec.postpone_reason:
        return {"postponeReason": _POSTPONE_NAME.get(rec.postpone_reason, "unknown")}
    return {
        "party": _PARTY_NAME.get(rec.party, "unknown"),
        "method": _METHOD_NAME.get(rec.method, "unknown"),
        "informedOn": rec.informed_on,
    }


def _party_json(rec: spb.PartyInformed) -> dict[str, Any]:
    if rec.postpone_reason:
        return {"postponeReason": _POSTPONE_NAME.get(rec.postpone_reason, "unknown")}
    return {"method": _METHOD_NAME.get(rec.method, "unknown"), "informedOn": rec.informed_on}


def informed_parties_json(rec: spb.InformedRecord) -> dict[str, Any]:
    """Per party: informed (method, date) or postponed (reason)."""
    out: dict[str, Any] = {}
    if rec.HasField("person"):
        out["person"] = _party_json(rec.person)
    if rec.HasField("legal_representative"):
        out["legalRepresentative"] = _party_json(rec.legal_representative)
    if rec.representative_reason:
        out["representativeReason"] = _REPRESENTATIVE_REASON_NAME.get(rec.representative_reason, "unknown")
    return out


def signal_json(sig: spb.Signal) -> dict[str, Any]:
    path = f"/signals/{sig.signal_id}"
    return {
        "id": sig.signal_id,
        "status": _STATUS_NAME.get(sig.status, "unknown"),
        "birthDate": sig.birth_date,
        "registeredAt": iso(sig.registered_at),
        "activeUntil": iso(sig.active_until),
        "endedAt": iso(sig.ended_at),
        "endReason": _END_NAME.get(sig.end_reason),
        "deleteAfter": iso(sig.delete_after),
        "organisation": {"id": sig.professional.organisation_id, "name": sig.professional.organisation_name},
        "professional": {"id": sig.professional.professional_id, "name": sig.professional.name},
        "legalBasis": _BASIS_NAME.get(sig.legal_basis, "unknown"),
        "legalGround": sig.legal_ground,
        "informed": informed_json(sig.informed),
        "multiProblemAttested": sig.multi_problem_attested,
        "consentGiven": sig.consent_given,
        # Only ever on the professional's own signal (this document); null when unverified.
        "municipalityCode": sig.municipality_code or None,
        "consentBy": _CONSENT_BY_NAME.get(sig.consent_by),
        "underGuardianship": sig.under_guardianship,
        # The organisation's own case number: this document goes to the owner only.
        "clientReference": sig.client_reference or None,
        **({"informedParties": parties} if (parties := informed_parties_json(sig.informed)) else {}),
        "_links": {"self": href(path), "involvement": href(path + "/involvement")},
    }


def contact_json(contact: types_pb2.ProfessionalContact, is_coordinator: bool) -> dict[str, Any]:
    return {
        "professionalId": contact.professional_id,
        "name": contact.name,
        "role": contact.role,
        "organisation": {"id": contact.organisation_id, "name": contact.organisation_name},
        "phone": contact.phone,
        "email": contact.email,
        "isCoordinator": is_coordinator,
    }


def member_json(member: match_pb2.Member) -> dict[str, Any]:
    doc = contact_json(member.professional, member.is_coordinator)
    doc["joinedAt"] = iso(member.joined_at)
    return doc


def own_signal_json(sig: spb.Signal | None) -> dict[str, Any] | None:
    """Which of the caller's clients an item is about (issue 17): only ever the caller's own
    signal, so the reference never reaches another member."""
    if sig is None:
        return None
    return {
        "id": sig.signal_id,
        "clientReference": sig.client_reference or None,
        "birthDate": sig.birth_date,
        "_links": {"self": href(f"/signals/{sig.signal_id}")},
    }


_MATCH_KINDS = {match_pb2.MATCH_KIND_FAMILY: "family", match_pb2.MATCH_KIND_CROSS_REGION: "cross-region"}


def match_kind(match: match_pb2.Match) -> str:
    """`person`, `family` (issue 18) or `cross-region` (issue 19); a match from before family
    matches is a person match."""
    return _MATCH_KINDS.get(match.kind, "person")


def match_json(match: match_pb2.Match, own: spb.Signal | None = None) -> dict[str, Any]:
    coordinator = next(
        (m for m in match.members if m.professional.professional_id == match.coordinator_professional_id),
        None,
    )
    path = f"/matches/{match.match_id}"
    links: dict[str, Any] = {"self": href(path), "coordinator": href(path + "/coordinator")}
    return {
        "id": match.match_id,
        "kind": match_kind(match),
        "status": MATCH_STATUS.get(match.status, "unknown"),
        "members": [member_json(m) for m in match.members],
        "coordinator": None if coordinator is None else member_json(coordinator),
        "pendingCoordinatorProfessionalId": match.pending_coordinator_professional_id or None,
        # Coordination by agreement: a take-over waiting for the coordinator, a succession offer.
        "takeoverRequestedBy": match.takeover_professional_id or None,
        "takeoverDueAt": iso(match.takeover_due_at),
        "coordinatorOffered": match.coordinator_offered,
        "offerDueAt": iso(match.offer_due_at),
        "createdAt": iso(match.created_at),
        "closedAt": iso(match.closed_at),
        "ownSignal": own_signal_json(own),
        "_links": links,
    }


def involvement_json(resp: match_pb2.GetInvolvementResponse, signal_id: str) -> dict[str, Any]:
    has_match = resp.HasField("match") and bool(resp.match.match_id)
    match: dict[str, Any] | None = None
    if has_match:
        coordinator = next(
            (
                m
                for m in resp.match.members
                if m.professional.professional_id == resp.match.coordinator_professional_id
            ),
            None,
        )
        match = {
            "id": resp.match.match_id,
            "kind": match_kind(resp.match),
            "coordinator": None if coordinator is None else contact_json(coordinator.professional, True),
            "_links": {"self": href(f"/matches/{resp.match.match_id}")},
        }
    return {
        "others": [contact_json(m.professional, m.is_coordinator) for m in resp.others],
        "match": match,
        "_links": {
            "self": href(f"/signals/{signal_id}/involvement"),
            "signal": href(f"/signals/{signal_id}"),
        },
    }


MATCH_UNAVAILABLE = "Deze match is niet meer beschikbaar voor u"


def inbox_item_json(
    item: notify_pb2.InboxItem, available: bool = True, own: spb.Signal | None = None
) -> dict[str, Any]:
    """An inbox item; one about a match the caller can no longer open keeps only its place
    (no title, body or link: the disclosure ended with the caller's signal)."""
    if not available:
        return {
            "id": item.item_id,
            "kind": item.kind,
            "title": MATCH_UNAVAILABLE,
            "body": MATCH_UNAVAILABLE + ": de match is gesloten of uw signaal op deze persoon is beëindigd.",
            "matchId": None,
            "signalId": None,
            "available": False,
            "ownSignal": own_signal_json(own),
            "createdAt": iso(item.created_at),
            "readAt": iso(item.read_at),
            "_links": {},
        }
    links: dict[str, Any] = {"read": href(f"/inbox/{item.item_id}/read")}
    if item.match_id:
        links["match"] = href(f"/matches/{item.match_id}")
    if item.signal_id:
        links["signal"] = href(f"/signals/{item.signal_id}")
    return {
        "id": item.item_id,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "available": True,
        "matchId": item.match_id or None,
        "signalId": item.signal_id or None,
        "ownSignal": own_signal_json(own),
        "createdAt": iso(item.created_at),
        "readAt": iso(item.read_at),
        "_links": links,
    }


def signal_review_json(review: spb.SignalForReview) -> dict[str, Any]:
    """A signal flagged for its organisation admin after a change of legal basis (issue 22)."""
    return {
        "signal": signal_json(review.signal),
        "flaggedAt": iso(review.flagged_at),
        "reason": review.reason,
    }
