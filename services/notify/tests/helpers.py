"""Builders for events and a poller for asynchronous effects (no sleeps as assertions)."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sluis.match.v1 import match_pb2
from sluis.signal.v1 import signal_pb2
from sluis.types.v1 import types_pb2

from services.common.protos import to_timestamp

T = TypeVar("T")


def contact(n: int, org: str | None = None, domain: str = "zorg.example") -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(
        professional_id=f"prof-{n}",
        name=f"Professional {n}",
        role="wijkverpleegkundige" if n % 2 else "schuldhulpverlener",
        phone=f"010-555{n:04d}",
        email=f"prof{n}@{domain}",
        organisation_id=org or f"org-{n}",
        organisation_name=f"Organisatie {org or n}",
    )


def match_event(
    members: list[types_pb2.ProfessionalContact],
    *,
    kind: int = match_pb2.MATCH_EVENT_KIND_CREATED,
    coordinator: int = 0,
    match_id: str | None = None,
    event_id: str | None = None,
    recipients: list[types_pb2.ProfessionalContact] | None = None,
    subject: types_pb2.ProfessionalContact | None = None,
) -> match_pb2.MatchEvent:
    event = match_pb2.MatchEvent(
        event_id=event_id or str(uuid.uuid4()),
        kind=kind,  # type: ignore[arg-type]
        match_id=match_id or str(uuid.uuid4()),
        members=[
            match_pb2.Member(professional=m, is_coordinator=i == coordinator) for i, m in enumerate(members)
        ],
        recipients=members if recipients is None else recipients,
        occurred_at=to_timestamp(datetime.now(UTC)),
    )
    if subject is not None:
        event.subject.CopyFrom(subject)
    return event


def signal_event(
    professional: types_pb2.ProfessionalContact,
    kind: int = signal_pb2.SIGNAL_EVENT_KIND_LAPSING_SOON,
    end_reason: int = 0,
) -> signal_pb2.SignalEvent:
    return signal_pb2.SignalEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,  # type: ignore[arg-type]
        signal_id=str(uuid.uuid4()),
        signal_version=3,
        pseudonym="1.AAAApseudonym",
        professional=professional,
        end_reason=end_reason,  # type: ignore[arg-type]
        occurred_at=to_timestamp(datetime.now(UTC)),
    )


def wait_for(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll until `check()` is truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)
        value = check()
    return value
