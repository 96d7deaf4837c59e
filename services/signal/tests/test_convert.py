"""Proto <-> domain translation, without network or database."""

from datetime import UTC, datetime, timedelta

import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.signal import convert, domain, store
from services.signal.tests.helpers import registration

NOW = datetime(2026, 1, 15, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("enum_type", "value", "code"),
    [
        (pb.LegalBasis, pb.LEGAL_BASIS_UNSPECIFIED, ""),
        (pb.LegalBasis, pb.LEGAL_BASIS_LEGAL_GROUND, "legal_ground"),
        (pb.LegalBasis, 42, "?42"),
        (pb.InformedParty, pb.INFORMED_PARTY_LEGAL_REPRESENTATIVE, "legal_representative"),
        (pb.EndReason, pb.END_REASON_OBJECTION_UPHELD, "objection_upheld"),
        (pb.SignalStatus, pb.SIGNAL_STATUS_ARCHIVED, "archived"),
    ],
)
def test_enum_codes(enum_type: object, value: int, code: str) -> None:
    assert convert.enum_code(enum_type, value) == code
    if code and not code.startswith("?"):
        assert convert.enum_value(enum_type, code) == value


def test_every_domain_code_has_a_proto_value() -> None:
    for enum_type, codes in [
        (pb.LegalBasis, domain.LegalBasis),
        (pb.InformedParty, domain.InformedParty),
        (pb.InformedMethod, domain.InformedMethod),
        (pb.PostponeReason, domain.PostponeReason),
        (pb.SignalStatus, domain.Status),
        (pb.EndReason, domain.EndReason),
    ]:
        for code in codes:
            assert convert.enum_value(enum_type, code.value) > 0


@pytest.mark.parametrize("kind", [pb.SIGNAL_EVENT_KIND_ENDED, pb.SIGNAL_EVENT_KIND_LAPSING_SOON])
def test_event_from_row_equals_event_from_signal(kind: "pb.SignalEventKind.ValueType") -> None:
    signal = domain.new_signal(registration(), "7a0d2c43-8f6b-4f55-9a53-1c3a4f5e6d7c", NOW)
    signal = domain.ended(signal, domain.EndReason.EXPIRED, NOW + timedelta(days=730))
    row = dict(zip(store._COLUMNS, store._row_values(signal), strict=True))
    at = NOW + timedelta(days=731)
    fast = pb.SignalEvent.FromString(convert.event_from_row(row, kind, convert.timestamp(at)))
    slow = convert.signal_event(signal, kind, at)
    fast.event_id = slow.event_id = ""
    assert fast == slow
    assert fast.end_reason == pb.END_REASON_EXPIRED


def test_signal_round_trip_to_proto() -> None:
    signal = domain.new_signal(registration(), "7a0d2c43-8f6b-4f55-9a53-1c3a4f5e6d7c", NOW)
    msg = convert.signal_to_proto(signal)
    assert msg.status == pb.SIGNAL_STATUS_ACTIVE
    assert msg.informed.party == pb.INFORMED_PARTY_BOTH
    assert msg.informed.method == pb.INFORMED_METHOD_PHONE
    assert msg.legal_basis == pb.LEGAL_BASIS_CONSENT
    assert not msg.HasField("ended_at")
    assert msg.registered_at.ToDatetime(tzinfo=UTC) == NOW
