"""Issue 12: a youth-regime signal ends when the person turns 23 unless re-attested under the
adult regime; the professional is reminded 30 days before (the lifecycle job, injected clock)."""

from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, reason_of, request
from services.signal.tests.test_lifecycle import T, at_day, get, refused, register

# START is 2026-01-15: born 2003-03-01, the person turns 23 on day 45 (2026-03-01).
BIRTH = "2003-03-01"
TURNS_23 = 45


def youth(pseudonym: str) -> pb.RegisterSignalRequest:
    informed = pb.InformedRecord(
        party=pb.INFORMED_PARTY_PERSON, method=pb.INFORMED_METHOD_PHONE, informed_on="2026-01-14"
    )
    # Issue 22: a consent-based organisation records the person's consent at 22.
    return request(pseudonym, birth_date=BIRTH, informed=informed, consent_by=pb.CONSENT_BY_PERSON)


def run(h: SignalHarness) -> pb.RunLifecycleResponse:
    return h.stub.RunLifecycle(pb.RunLifecycleRequest(), timeout=30)


def renew(h: SignalHarness, signal_id: str, attested: bool) -> pb.Signal:
    req = pb.RenewSignalRequest(
        signal_id=signal_id, professional_id="prof-1", multi_problem_attested=attested, consent_given=True
    )
    return h.stub.RenewSignal(req, timeout=T).signal


def test_youth_signal_ends_at_23_unless_re_attested(signals: SignalHarness) -> None:
    ages_out = register(signals, youth("1.youth-a"))
    stays = register(signals, youth("1.youth-b"))
    assert not ages_out.multi_problem_attested

    at_day(signals, TURNS_23 - 31)
    assert run(signals).age_reminded == 0
    at_day(signals, TURNS_23 - 30)
    assert run(signals).age_reminded == 2
    assert run(signals).age_reminded == 0  # once
    reminder = signals.notify.wait_for(ages_out.signal_id, pb.SIGNAL_EVENT_KIND_LAPSING_SOON)
    assert reminder.end_reason == pb.END_REASON_AGED_OUT

    # Re-attesting is a renewal, allowed now although the normal renewal window is far away,
    # and under the adult regime although the person is still 22.
    at_day(signals, TURNS_23 - 20)
    err = refused(
        signals.stub.RenewSignal,
        pb.RenewSignalRequest(signal_id=ages_out.signal_id, professional_id="prof-1", consent_given=True),
    )
    assert reason_of(err) == "multi_problem_not_attested"
    assert renew(signals, stays.signal_id, attested=True).multi_problem_attested

    at_day(signals, TURNS_23 - 1)
    assert run(signals).aged_out == 0
    at_day(signals, TURNS_23)
    assert run(signals).aged_out == 1
    assert run(signals).aged_out == 0  # idempotent
    ended = get(signals, ages_out.signal_id)
    assert ended.status == pb.SIGNAL_STATUS_ARCHIVED and ended.end_reason == pb.END_REASON_AGED_OUT
    assert get(signals, stays.signal_id).status == pb.SIGNAL_STATUS_ACTIVE
    told = signals.match.wait_for(ages_out.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert told.end_reason == pb.END_REASON_AGED_OUT
    assert signals.notify.wait_for(ages_out.signal_id, pb.SIGNAL_EVENT_KIND_ENDED).end_reason == (
        pb.END_REASON_AGED_OUT
    )
