"""Signal events as match receives them, for the match tests."""

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import types_pb2

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REGISTERED = spb.SIGNAL_EVENT_KIND_REGISTERED
ENDED = spb.SIGNAL_EVENT_KIND_ENDED
DELETED = spb.SIGNAL_EVENT_KIND_DELETED


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def contact(prof: str, org: str) -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(
        professional_id=prof,
        name=f"Naam {prof}",
        role="hulpverlener",
        phone="010-1234567",
        email=f"{prof}@{org}.example",
        organisation_id=org,
        organisation_name=f"Organisatie {org}",
    )


def event(
    prof: str,
    org: str,
    pseudonym: str,
    *,
    kind: int = REGISTERED,
    version: int = 1,
    minute: int = 0,
    signal_id: str | None = None,
    may_coordinate: bool = True,
    domains: tuple[str, ...] = (),
) -> spb.SignalEvent:
    return spb.SignalEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,  # type: ignore[arg-type]
        signal_id=signal_id or f"sig-{pseudonym}-{prof}",
        signal_version=version,
        pseudonym=pseudonym,
        professional=contact(prof, org),
        may_coordinate=may_coordinate,
        domains=list(domains),
        registered_at=ts(T0 + timedelta(minutes=minute)),
        occurred_at=ts(T0 + timedelta(minutes=minute)),
    )


def ended(ev: spb.SignalEvent, kind: int = ENDED) -> spb.SignalEvent:
    out = spb.SignalEvent()
    out.CopyFrom(ev)
    out.event_id = str(uuid.uuid4())
    out.kind = kind  # type: ignore[assignment]
    out.signal_version = ev.signal_version + 1
    return out
