"""Translation between the gRPC contract (sluis.signal.v1) and the domain types, both ways.

Proto enums become the domain's lowercase codes (LEGAL_BASIS_CONSENT -> "consent"); an
unspecified value becomes "" and a number the contract does not know becomes "?<n>", so the
domain can refuse both precisely.
"""

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sluis.signal.v1 import signal_pb2 as pb

from services.common.contacts import contact_from_proto, contact_from_row, contact_to_proto
from services.common.protos import to_timestamp
from services.signal import domain

# Signal rows name the contact fields contact_*, except the ids and the organisation name.
CONTACT_COLUMNS = {
    "name": "contact_name",
    "role": "contact_role",
    "phone": "contact_phone",
    "email": "contact_email",
}


# Enum conversions are memoised (issue 21): protobuf's Name/Value are Python code, called
# for every enum field of every signal (a bulk chunk has 10,000). Bounded: an unknown
# number from a client gets an entry too.
@functools.lru_cache(maxsize=4096)
def enum_code(enum_type: Any, value: int) -> str:
    """The domain code of a proto enum value: "" for UNSPECIFIED, "?<n>" for unknown numbers."""
    try:
        name: str = enum_type.Name(value)
    except ValueError:
        return f"?{value}"
    prefix = _prefix(enum_type)
    code = name[len(prefix) :].lower()
    return "" if code == "unspecified" else code


@functools.lru_cache(maxsize=4096)
def enum_value(enum_type: Any, code: str | None) -> Any:
    """The proto enum value of a domain code (UNSPECIFIED for None).

    Typed Any: each proto enum has its own ValueType, and this serves all of them.
    """
    if not code:
        return 0
    return enum_type.Value(_prefix(enum_type) + code.upper())


@functools.cache
def _prefix(enum_type: Any) -> str:
    unspecified: str = enum_type.Name(0)
    return unspecified[: -len("UNSPECIFIED")]


def registration_from_proto(req: pb.RegisterSignalRequest) -> domain.Registration:
    org = req.organisation
    informed = req.informed
    return domain.Registration(
        pseudonym=req.pseudonym,
        birth_date=req.birth_date,
        professional=contact_from_proto(req.professional),
        organisation=domain.OrganisationInput(
            organisation_id=org.organisation_id,
            name=org.name,
            legal_basis=enum_code(pb.LegalBasis, org.legal_basis),
            legal_ground=org.legal_ground,
            domains=tuple(org.domains),
            may_coordinate=org.may_coordinate,
        ),
        informed=domain.InformedInput(
            party=enum_code(pb.InformedParty, informed.party),
            method=enum_code(pb.InformedMethod, informed.method),
            informed_on=informed.informed_on,
            postpone_reason=enum_code(pb.PostponeReason, informed.postpone_reason),
            person=party_input(informed.person) if informed.HasField("person") else None,
            representative=(
                party_input(informed.legal_representative)
                if informed.HasField("legal_representative")
                else None
            ),
            representative_reason=enum_code(pb.RepresentativeReason, informed.representative_reason),
        ),
        multi_problem_attested=req.multi_problem_attested,
        consent_given=req.consent_given,
        consent_by=enum_code(pb.ConsentBy, req.consent_by),
        under_guardianship=req.under_guardianship,
        municipality_code=req.municipality_code,
        client_reference=req.client_reference,
        parent_pseudonyms=tuple(req.parent_pseudonyms),
    )


def party_input(rec: pb.PartyInformed) -> domain.PartyInput:
    return domain.PartyInput(
        method=enum_code(pb.InformedMethod, rec.method),
        informed_on=rec.informed_on,
        postpone_reason=enum_code(pb.PostponeReason, rec.postpone_reason),
    )


def _party_proto(rec: domain.PartyInforming | None) -> pb.PartyInformed | None:
    if rec is None:
        return None
    return pb.PartyInformed(
        method=enum_value(pb.InformedMethod, rec.method),
        informed_on=rec.informed_on.isoformat() if rec.informed_on else "",
        postpone_reason=enum_value(pb.PostponeReason, rec.postpone_reason),
    )


def signal_to_proto(signal: domain.Signal) -> pb.Signal:
    informed = signal.informed
    return pb.Signal(
        signal_id=signal.signal_id,
        pseudonym=signal.pseudonym,
        birth_date=signal.birth_date.isoformat(),
        professional=contact_to_proto(signal.professional),
        legal_basis=enum_value(pb.LegalBasis, signal.organisation.legal_basis),
        legal_ground=signal.organisation.legal_ground,
        informed=pb.InformedRecord(
            party=enum_value(pb.InformedParty, informed.party),
            method=enum_value(pb.InformedMethod, informed.method),
            informed_on=informed.informed_on.isoformat() if informed.informed_on else "",
            postpone_reason=enum_value(pb.PostponeReason, informed.postpone_reason),
            person=_party_proto(informed.person),
            legal_representative=_party_proto(informed.representative),
            representative_reason=enum_value(pb.RepresentativeReason, informed.representative_reason),
        ),
        multi_problem_attested=signal.multi_problem_attested,
        consent_given=signal.consent_given,
        status=enum_value(pb.SignalStatus, signal.status),
        end_reason=enum_value(pb.EndReason, signal.end_reason),
        registered_at=to_timestamp(signal.registered_at),
        active_until=to_timestamp(signal.active_until),
        ended_at=to_timestamp(signal.ended_at),
        delete_after=to_timestamp(signal.delete_after),
        version=signal.version,
        consent_by=enum_value(pb.ConsentBy, signal.consent_by),
        under_guardianship=signal.under_guardianship,
        municipality_code=signal.municipality_code,
        restricted=signal.restricted,
        client_reference=signal.client_reference,
    )


def timestamp(moment: datetime) -> Timestamp:
    """A Timestamp from an aware datetime, without the slow generic conversion (hot path)."""
    return Timestamp(seconds=int(moment.timestamp()), nanos=moment.microsecond * 1000)


def event_from_row(
    row: Mapping[str, Any],
    kind: "pb.SignalEventKind.ValueType",
    occurred_at: Timestamp,
    *,
    end_reason: domain.EndReason | None = None,
    version_offset: int = 0,
) -> bytes:
    """A serialised SignalEvent straight from a store row: the lifecycle job's hot path.

    Same content as `signal_event` (a test checks that), without building a Signal first.
    """
    reason = end_reason.value if end_reason else row["end_reason"]
    return pb.SignalEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,
        signal_id=str(row["signal_id"]),
        signal_version=row["version"] + version_offset,
        pseudonym=row["pseudonym"],
        professional=contact_to_proto(contact_from_row(row, CONTACT_COLUMNS)),
        may_coordinate=row["may_coordinate"],
        domains=row["domains"],
        registered_at=timestamp(row["registered_at"]),
        active_until=timestamp(row["active_until"]),
        occurred_at=occurred_at,
        end_reason=_END_REASON_VALUES[reason] if reason else pb.END_REASON_UNSPECIFIED,
        parent_pseudonyms=row["parent_pseudonyms"],
        adult_on=domain.adult_on(row["birth_date"]).isoformat(),
    ).SerializeToString()


_END_REASON_VALUES: dict[str, Any] = {r.value: enum_value(pb.EndReason, r.value) for r in domain.EndReason}


def signal_event(
    signal: domain.Signal,
    kind: "pb.SignalEventKind.ValueType",
    occurred_at: datetime,
    *,
    end_reason: domain.EndReason | None = None,
    version: int | None = None,
    bulk: bool = False,
) -> pb.SignalEvent:
    """The event match and notify receive: everything they need, nothing more (no birth date)."""
    return pb.SignalEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,
        signal_id=signal.signal_id,
        signal_version=signal.version if version is None else version,
        pseudonym=signal.pseudonym,
        professional=contact_to_proto(signal.professional),
        may_coordinate=signal.organisation.may_coordinate,
        domains=list(signal.organisation.domains),
        registered_at=to_timestamp(signal.registered_at),
        active_until=to_timestamp(signal.active_until),
        occurred_at=to_timestamp(occurred_at),
        end_reason=enum_value(pb.EndReason, end_reason or signal.end_reason),
        bulk=bulk,
        restricted=signal.restricted,
        parent_pseudonyms=list(signal.parent_pseudonyms),
        adult_on=domain.adult_on(signal.birth_date).isoformat(),
    )


# The lifecycle job's events, from the rows it changed (store.purge_batch, expire_batch,
# remind_batch): the store decides which rows, this module what is said about them.
def purged_event(row: Mapping[str, Any], occurred_at: Timestamp) -> bytes:
    """DELETED (PURGED): the archived signal is gone after its retention period."""
    return event_from_row(
        row, pb.SIGNAL_EVENT_KIND_DELETED, occurred_at, end_reason=domain.EndReason.PURGED, version_offset=1
    )


def expired_event(row: Mapping[str, Any], occurred_at: Timestamp) -> bytes:
    """ENDED (EXPIRED, or AGED_OUT, as the row says): the signal is no longer active."""
    return event_from_row(row, pb.SIGNAL_EVENT_KIND_ENDED, occurred_at)


def aging_out_event(row: Mapping[str, Any], occurred_at: Timestamp) -> bytes:
    """LAPSING_SOON (AGED_OUT): the person turns 23 within 30 days; re-attest or it ends."""
    return event_from_row(
        row, pb.SIGNAL_EVENT_KIND_LAPSING_SOON, occurred_at, end_reason=domain.EndReason.AGED_OUT
    )


def informing_postponed_event(row: Mapping[str, Any], occurred_at: Timestamp) -> bytes:
    """INFORMING_POSTPONED: a reminder to the professional that informing is still to be done."""
    return event_from_row(row, pb.SIGNAL_EVENT_KIND_INFORMING_POSTPONED, occurred_at)


def lapsing_event(row: Mapping[str, Any], occurred_at: Timestamp) -> bytes:
    """LAPSING_SOON: a reminder to the professional."""
    return event_from_row(row, pb.SIGNAL_EVENT_KIND_LAPSING_SOON, occurred_at)
