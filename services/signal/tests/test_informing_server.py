"""Issue 22 over real gRPC and PostgreSQL: informing per party, consent by profile, and
completing a postponed informing later."""

from datetime import timedelta
from typing import Any

import grpc
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import START, SignalHarness, reason_of, request

T = 5


def _child_informed_parent_postponed() -> pb.RegisterSignalRequest:
    return request(
        informed=pb.InformedRecord(
            person=pb.PartyInformed(method=pb.INFORMED_METHOD_IN_PERSON, informed_on="2026-01-14"),
            legal_representative=pb.PartyInformed(postpone_reason=pb.POSTPONE_REASON_SAFETY),
        )
    )


def test_per_party_informing_and_consent_are_stored(signals: SignalHarness) -> None:
    signal = signals.stub.RegisterSignal(_child_informed_parent_postponed(), timeout=T).signal
    assert signal.consent_by == pb.CONSENT_BY_LEGAL_REPRESENTATIVE and signal.consent_given
    informed = signal.informed
    assert informed.party == pb.INFORMED_PARTY_BOTH
    assert (
        informed.person.method == pb.INFORMED_METHOD_IN_PERSON and informed.person.informed_on == "2026-01-14"
    )
    assert informed.legal_representative.postpone_reason == pb.POSTPONE_REASON_SAFETY
    # The summary fields: the informed party's method and date, the postponed one's reason.
    assert (
        informed.method == pb.INFORMED_METHOD_IN_PERSON
        and informed.postpone_reason == pb.POSTPONE_REASON_SAFETY
    )
    again = signals.stub.GetSignal(
        pb.GetSignalRequest(signal_id=signal.signal_id, professional_id="prof-1"), timeout=T
    ).signal
    assert again == signal


def test_guardianship_adult_with_representative_informed(signals: SignalHarness) -> None:
    req = request(
        "1.curatele",
        birth_date="1950-05-05",
        informed=pb.InformedRecord(
            legal_representative=pb.PartyInformed(method=pb.INFORMED_METHOD_LETTER, informed_on="2026-01-12"),
            representative_reason=pb.REPRESENTATIVE_REASON_GUARDIANSHIP,
        ),
        multi_problem_attested=True,
        consent_by=pb.CONSENT_BY_LEGAL_REPRESENTATIVE,
    )
    signal = signals.stub.RegisterSignal(req, timeout=T).signal
    assert signal.under_guardianship
    assert signal.informed.party == pb.INFORMED_PARTY_LEGAL_REPRESENTATIVE
    assert signal.informed.representative_reason == pb.REPRESENTATIVE_REASON_GUARDIANSHIP


def test_complete_a_postponed_informing(signals: SignalHarness) -> None:
    signal = signals.stub.RegisterSignal(_child_informed_parent_postponed(), timeout=T).signal
    complete = pb.CompleteInformingRequest(
        signal_id=signal.signal_id,
        professional_id="prof-1",
        party=pb.INFORMED_PARTY_LEGAL_REPRESENTATIVE,
        method=pb.INFORMED_METHOD_PHONE,
        informed_on="2026-01-15",
    )
    # Somebody else's signal: not found, nothing written.
    other = pb.CompleteInformingRequest()
    other.CopyFrom(complete)
    other.professional_id = "prof-2"
    with pytest.raises(grpc.RpcError) as exc:
        signals.stub.CompleteInforming(other, timeout=T)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    done = signals.stub.CompleteInforming(complete, timeout=T).signal
    rep = done.informed.legal_representative
    assert (
        rep.method == pb.INFORMED_METHOD_PHONE and rep.informed_on == "2026-01-15" and not rep.postpone_reason
    )
    assert done.informed.postpone_reason == pb.POSTPONE_REASON_UNSPECIFIED
    assert done.version == signal.version + 1
    stored = signals.sql(
        "SELECT representative_method, postpone_reason, version FROM signals WHERE signal_id = %s",
        (signal.signal_id,),
    )
    assert stored == [("phone", None, 2)]
    with pytest.raises(grpc.RpcError) as exc:
        signals.stub.CompleteInforming(complete, timeout=T)
    assert (
        exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason_of(exc.value) == "informed_already"
    )


def _informing_reminders(h: SignalHarness) -> int:
    return h.stub.RunLifecycle(pb.RunLifecycleRequest(), timeout=30).informing_reminded


def test_reminder_while_informing_stays_postponed(signals: SignalHarness) -> None:
    postponed = signals.stub.RegisterSignal(_child_informed_parent_postponed(), timeout=T).signal
    done_in_time = signals.stub.RegisterSignal(
        _child_informed_parent_postponed_for("1.other"), timeout=T
    ).signal
    signals.clock.set(START + timedelta(days=10))
    signals.stub.CompleteInforming(
        pb.CompleteInformingRequest(
            signal_id=done_in_time.signal_id,
            professional_id="prof-1",
            party=pb.INFORMED_PARTY_LEGAL_REPRESENTATIVE,
            method=pb.INFORMED_METHOD_LETTER,
            informed_on="2026-01-20",
        ),
        timeout=T,
    )
    signals.clock.set(START + timedelta(days=14) - timedelta(seconds=1))
    assert _informing_reminders(signals) == 0
    signals.clock.set(START + timedelta(days=14))
    assert _informing_reminders(signals) == 1
    reminder = signals.notify.wait_for(postponed.signal_id, pb.SIGNAL_EVENT_KIND_INFORMING_POSTPONED)
    assert reminder.professional.professional_id == "prof-1"
    # Once per signal, and none for the one completed in time.
    signals.clock.set(START + timedelta(days=30))
    assert _informing_reminders(signals) == 0
    assert not signals.notify.of(done_in_time.signal_id, pb.SIGNAL_EVENT_KIND_INFORMING_POSTPONED)


def test_reminder_period_is_a_region_setting(make_signal_service: Any) -> None:
    h = make_signal_service(informing_reminder_days=7)
    h.stub.RegisterSignal(_child_informed_parent_postponed(), timeout=T)
    h.clock.set(START + timedelta(days=7))
    assert _informing_reminders(h) == 1


def _child_informed_parent_postponed_for(pseudonym: str) -> pb.RegisterSignalRequest:
    req = _child_informed_parent_postponed()
    req.pseudonym = pseudonym
    return req
