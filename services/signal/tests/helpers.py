"""Builders, recording fakes of match and notify, and the harness of the signal tests.

The fakes are real aio gRPC servers (GrpcService, started with run_service), so the relay's
real client path (channel, deadline, serialisation) is exercised.
"""

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import psycopg
from sluis.match.v1 import match_pb2, match_pb2_grpc
from sluis.notify.v1 import notify_pb2, notify_pb2_grpc
from sluis.signal.v1 import signal_pb2 as pb
from sluis.signal.v1 import signal_pb2_grpc as pb_grpc
from sluis.types.v1 import types_pb2

from services.common.clock import FrozenClock
from services.common.config import ServiceSettings
from services.common.grpcserver import GrpcService
from services.signal.domain import Contact, InformedInput, OrganisationInput, Registration

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


class Recorder:
    """The events a fake received, in arrival order (duplicates kept: delivery is at least once)."""

    def __init__(self) -> None:
        self.events: list[pb.SignalEvent] = []
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, events: Any) -> None:
        with self._lock:
            self.calls += 1
            self.events.extend(events)

    def of(self, signal_id: str, kind: "pb.SignalEventKind.ValueType | None" = None) -> list[pb.SignalEvent]:
        with self._lock:
            return [e for e in self.events if e.signal_id == signal_id and (kind is None or e.kind == kind)]

    def wait_for(
        self, signal_id: str, kind: "pb.SignalEventKind.ValueType", timeout: float = 30.0
    ) -> pb.SignalEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(signal_id, kind)
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no event {pb.SignalEventKind.Name(kind)} for {signal_id} within {timeout} s")


class FakeMatch(match_pb2_grpc.MatchServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def ApplySignalEvents(self, request: Any, context: Any) -> match_pb2.ApplySignalEventsResponse:
        self.recorder.add(request.events)
        return match_pb2.ApplySignalEventsResponse(applied=len(request.events))


class FakeNotify(notify_pb2_grpc.NotifyServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def ApplySignalEvents(self, request: Any, context: Any) -> notify_pb2.ApplySignalEventsResponse:
        self.recorder.add(request.events)
        return notify_pb2.ApplySignalEventsResponse(accepted=len(request.events))


def start_fake(run_service: Callable[..., Any], kind: str, recorder: Recorder, port: int = 0) -> Any:
    """Start a recording fake of match or notify on `port` (0: any free port)."""
    settings = ServiceSettings(region="test", database_url="", grpc_listen=f"127.0.0.1:{port}")

    async def factory() -> GrpcService:
        service = GrpcService(f"fake-{kind}", settings)
        if kind == "match":
            service.add_servicer(
                match_pb2_grpc.add_MatchServiceServicer_to_server,
                FakeMatch(recorder),  # type: ignore[abstract]
                "sluis.match.v1.MatchService",
            )
        else:
            service.add_servicer(
                notify_pb2_grpc.add_NotifyServiceServicer_to_server,
                FakeNotify(recorder),  # type: ignore[abstract]
                "sluis.notify.v1.NotifyService",
            )
        return service

    return run_service(factory)


@dataclass
class SignalHarness:
    stub: pb_grpc.SignalServiceStub
    clock: FrozenClock
    url: str
    match: Recorder
    notify: Recorder
    service: Any
    channels: list[grpc.Channel] = field(default_factory=list)

    def count(self, table: str) -> int:
        assert table in ("signals", "outbox")
        with psycopg.connect(self.url) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
            assert row is not None
            return int(row[0])

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


def contact(professional_id: str = "prof-1", organisation_id: str = "org-1") -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(
        professional_id=professional_id,
        name="Anna de Vries",
        role="jeugdconsulent",
        phone="010-1234567",
        email="anna@jeugdzorg.example",
        organisation_id=organisation_id,
        organisation_name="Jeugdzorg Rijnmond",
    )


def organisation(organisation_id: str = "org-1", **kw: Any) -> pb.OrganisationProfile:
    fields: dict[str, Any] = {
        "organisation_id": organisation_id,
        "name": "Jeugdzorg Rijnmond",
        "legal_basis": pb.LEGAL_BASIS_CONSENT,
        "domains": ["youth", "care"],
        "may_coordinate": True,
    }
    fields.update(kw)
    return pb.OrganisationProfile(**fields)


def request(
    pseudonym: str = "1.pseudonymA",
    *,
    birth_date: str = "2012-03-01",
    professional_id: str = "prof-1",
    organisation_id: str = "org-1",
    **kw: Any,
) -> pb.RegisterSignalRequest:
    """A valid registration: a 13-year-old (START is 2026-01-15), both informed by phone,
    with the parent's consent (the organisation signals with consent)."""
    fields: dict[str, Any] = {
        "pseudonym": pseudonym,
        "birth_date": birth_date,
        "professional": contact(professional_id, organisation_id),
        "organisation": organisation(organisation_id),
        "informed": pb.InformedRecord(
            party=pb.INFORMED_PARTY_BOTH, method=pb.INFORMED_METHOD_PHONE, informed_on="2026-01-14"
        ),
        "consent_by": pb.CONSENT_BY_LEGAL_REPRESENTATIVE,
    }
    fields.update(kw)
    return pb.RegisterSignalRequest(**fields)


def adult_request(pseudonym: str = "1.pseudonymB", **kw: Any) -> pb.RegisterSignalRequest:
    """A valid registration for a 40-year-old (adult regime)."""
    fields: dict[str, Any] = {
        "birth_date": "1985-06-30",
        "informed": pb.InformedRecord(
            party=pb.INFORMED_PARTY_PERSON, method=pb.INFORMED_METHOD_IN_PERSON, informed_on="2026-01-15"
        ),
        "multi_problem_attested": True,
        "consent_by": pb.CONSENT_BY_PERSON,
    }
    fields.update(kw)
    return request(pseudonym, **fields)


def metadata_of(error: Any) -> dict[str, str]:
    """The trailing metadata of a failed call (an RpcError is also a Call)."""
    return {k: v for k, v in (error.trailing_metadata() or ())}


def reason_of(error: Any) -> str:
    return metadata_of(error).get("sluis-reason", "")


def registration(**kw: object) -> Registration:
    """Valid: a 13-year-old, consent-based youth organisation, both informed by phone."""
    base = Registration(
        pseudonym="1.abc",
        birth_date="2012-03-01",
        professional=Contact(
            professional_id="prof-1",
            name="Anna de Vries",
            role="jeugdconsulent",
            phone="010-1234567",
            email="anna@jeugdzorg.example",
        ),
        organisation=OrganisationInput(
            organisation_id="org-1",
            name="Jeugdzorg Rijnmond",
            legal_basis="consent",
            domains=("youth", "care"),
            may_coordinate=True,
        ),
        informed=InformedInput(party="both", method="phone", informed_on="2026-01-14"),
        consent_given=True,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]
