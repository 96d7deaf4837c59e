"""Issue 4 over real gRPC: ending, renewing, removing, bulk intake and the lifecycle job.

Time travel: the service gets a FrozenClock; tests advance it and run the job (RunLifecycle).
"""

import time
from datetime import timedelta
from typing import Any

import grpc
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import (
    START,
    SignalHarness,
    adult_request,
    reason_of,
    request,
)

T = 5
DAY = timedelta(days=1)


def register(h: SignalHarness, req: pb.RegisterSignalRequest) -> pb.Signal:
    return h.stub.RegisterSignal(req, timeout=T).signal


def get(h: SignalHarness, signal_id: str, professional_id: str = "prof-1") -> pb.Signal:
    return h.stub.GetSignal(
        pb.GetSignalRequest(signal_id=signal_id, professional_id=professional_id), timeout=T
    ).signal


def lifecycle(h: SignalHarness) -> tuple[int, int, int]:
    r = h.stub.RunLifecycle(pb.RunLifecycleRequest(), timeout=30)
    return r.reminded, r.expired, r.purged


def at_day(h: SignalHarness, day: int) -> None:
    h.clock.set(START + day * DAY)


def end(h: SignalHarness, signal_id: str, reason: "pb.EndReason.ValueType") -> pb.EndSignalResponse:
    return h.stub.EndSignal(
        pb.EndSignalRequest(signal_id=signal_id, professional_id="prof-1", reason=reason), timeout=T
    )


def refused(call: Any, *args: Any, **kw: Any) -> Any:
    with pytest.raises(grpc.RpcError) as exc:
        call(*args, timeout=T, **kw)
    return exc.value


def test_time_travel_active_archived_purged(signals: SignalHarness) -> None:
    signal = register(signals, request())
    signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED)

    at_day(signals, 729)
    assert lifecycle(signals) == (1, 0, 0)  # one day left: the reminder, no expiry
    assert get(signals, signal.signal_id).status == pb.SIGNAL_STATUS_ACTIVE

    at_day(signals, 731)
    assert lifecycle(signals) == (0, 1, 0)
    archived = get(signals, signal.signal_id)
    assert archived.status == pb.SIGNAL_STATUS_ARCHIVED
    assert archived.end_reason == pb.END_REASON_EXPIRED
    assert archived.version == 2
    assert archived.ended_at == signal.active_until
    assert archived.delete_after.ToSeconds() == signal.active_until.ToSeconds() + 1825 * 86400
    # Match takes the signal out of any match; notify tells the professional.
    to_match = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert to_match.end_reason == pb.END_REASON_EXPIRED and to_match.signal_version == 2
    assert to_match.pseudonym == signal.pseudonym
    to_notify = signals.notify.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert to_notify.event_id == to_match.event_id
    assert to_notify.professional.email == "anna@jeugdzorg.example"
    # Idempotent: running again changes nothing and emits nothing.
    assert lifecycle(signals) == (0, 0, 0)

    at_day(signals, 731 + 5 * 365 - 2)
    assert lifecycle(signals) == (0, 0, 0)
    assert get(signals, signal.signal_id).status == pb.SIGNAL_STATUS_ARCHIVED

    at_day(signals, 731 + 5 * 365)
    assert lifecycle(signals) == (0, 0, 1)
    err = refused(
        signals.stub.GetSignal, pb.GetSignalRequest(signal_id=signal.signal_id, professional_id="prof-1")
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert signals.count("signals") == 0
    deleted = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_DELETED)
    assert deleted.end_reason == pb.END_REASON_PURGED and deleted.signal_version == 3
    assert lifecycle(signals) == (0, 0, 0)
    # Over the whole life: exactly one event of each kind reached match (the fake keeps
    # duplicates, so this also shows the job emitted each once).
    kinds = sorted(e.kind for e in signals.match.of(signal.signal_id))
    assert kinds == [
        pb.SIGNAL_EVENT_KIND_REGISTERED,
        pb.SIGNAL_EVENT_KIND_ENDED,
        pb.SIGNAL_EVENT_KIND_DELETED,
    ]


def test_unjustified_is_gone_at_once(signals: SignalHarness) -> None:
    signal = register(signals, request())
    signals.clock.advance(DAY)
    response = end(signals, signal.signal_id, pb.END_REASON_UNJUSTIFIED)
    assert not response.HasField("signal")
    assert signals.count("signals") == 0
    err = refused(
        signals.stub.GetSignal, pb.GetSignalRequest(signal_id=signal.signal_id, professional_id="prof-1")
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    listed = signals.stub.ListSignals(pb.ListSignalsRequest(professional_id="prof-1"), timeout=T)
    assert list(listed.signals) == []
    event = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_DELETED)
    assert event.end_reason == pb.END_REASON_UNJUSTIFIED
    assert event.signal_version == 2
    assert event.pseudonym == signal.pseudonym
    assert event.professional.professional_id == "prof-1"
    # The person can be signalled again.
    register(signals, request())


def test_goal_reached_archives_and_frees_the_person(signals: SignalHarness) -> None:
    signal = register(signals, request())
    signals.clock.advance(10 * DAY)
    archived = end(signals, signal.signal_id, pb.END_REASON_GOAL_REACHED).signal
    assert archived.status == pb.SIGNAL_STATUS_ARCHIVED
    assert archived.end_reason == pb.END_REASON_GOAL_REACHED
    assert archived.ended_at.ToSeconds() == signal.registered_at.ToSeconds() + 10 * 86400
    assert archived.delete_after.ToSeconds() == archived.ended_at.ToSeconds() + 1825 * 86400
    event = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert event.end_reason == pb.END_REASON_GOAL_REACHED and event.signal_version == 2
    # Ending a second time is refused and writes nothing.
    outbox_before = signals.count("outbox")
    err = refused(
        signals.stub.EndSignal,
        pb.EndSignalRequest(signal_id=signal.signal_id, professional_id="prof-1", reason=pb.END_REASON_OTHER),
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and reason_of(err) == "signal_not_active"
    assert signals.count("outbox") <= outbox_before
    again = register(signals, request())
    assert again.signal_id != signal.signal_id
    # An archived signal is deleted after its retention period (5 years after ending).
    at_day(signals, 10 + 5 * 365)
    assert lifecycle(signals)[2] == 1  # (the new signal has lapsed meanwhile: expired)
    assert signals.sql("SELECT count(*) FROM signals WHERE signal_id = %s", (signal.signal_id,)) == [(0,)]


@pytest.mark.parametrize(
    ("reason", "code", "sluis_reason"),
    [
        (pb.END_REASON_UNSPECIFIED, grpc.StatusCode.INVALID_ARGUMENT, "end_reason_missing"),
        (pb.END_REASON_EXPIRED, grpc.StatusCode.INVALID_ARGUMENT, "end_reason_not_allowed"),
        (pb.END_REASON_OBJECTION_UPHELD, grpc.StatusCode.INVALID_ARGUMENT, "end_reason_not_allowed"),
        (pb.END_REASON_PURGED, grpc.StatusCode.INVALID_ARGUMENT, "end_reason_not_allowed"),
        (77, grpc.StatusCode.INVALID_ARGUMENT, "end_reason_unknown"),
    ],
)
def test_bad_end_requests_write_nothing(
    signals: SignalHarness, reason: int, code: grpc.StatusCode, sluis_reason: str
) -> None:
    signal = register(signals, request())
    signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED)
    err = refused(
        signals.stub.EndSignal,
        pb.EndSignalRequest(signal_id=signal.signal_id, professional_id="prof-1", reason=reason),  # type: ignore[arg-type]
    )
    assert err.code() == code and reason_of(err) == sluis_reason
    assert get(signals, signal.signal_id) == signal
    assert signals.count("outbox") == 0


def test_ending_somebody_elses_signal_is_not_found(signals: SignalHarness) -> None:
    signal = register(signals, request())
    attempts = [
        (
            signals.stub.EndSignal,
            pb.EndSignalRequest(
                signal_id=signal.signal_id, professional_id="prof-2", reason=pb.END_REASON_OTHER
            ),
        ),
        (
            signals.stub.RenewSignal,
            pb.RenewSignalRequest(signal_id=signal.signal_id, professional_id="prof-2"),
        ),
    ]
    for call, req in attempts:
        err = refused(call, req)
        assert err.code() == grpc.StatusCode.NOT_FOUND and reason_of(err) == "signal_not_found"
    assert get(signals, signal.signal_id) == signal


def test_renewal_only_in_the_last_three_months(signals: SignalHarness) -> None:
    signal = register(signals, request())
    signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED)
    # The organisation signals with consent: renewal records it again (issue 22).
    renew = pb.RenewSignalRequest(signal_id=signal.signal_id, professional_id="prof-1", consent_given=True)

    at_day(signals, 639)  # 91 days left
    err = refused(signals.stub.RenewSignal, renew)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and reason_of(err) == "renewal_window_closed"
    assert get(signals, signal.signal_id) == signal
    assert signals.count("outbox") == 0

    at_day(signals, 700)
    renewed = signals.stub.RenewSignal(renew, timeout=T).signal
    assert renewed.version == 2
    assert renewed.active_until.ToSeconds() == (START + 700 * DAY + 730 * DAY).timestamp()
    event = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_RENEWED)
    assert event.signal_version == 2 and event.active_until == renewed.active_until
    # The old lapse date has passed without expiry.
    at_day(signals, 731)
    assert lifecycle(signals) == (0, 0, 0)
    assert get(signals, signal.signal_id).status == pb.SIGNAL_STATUS_ACTIVE


def test_renewal_after_turning_23_needs_attestation(signals: SignalHarness) -> None:
    # 22 at registration (START is 2026-01-15), 24 when the renewal window opens.
    req = request(
        birth_date="2003-06-01",
        informed=pb.InformedRecord(
            party=pb.INFORMED_PARTY_PERSON, method=pb.INFORMED_METHOD_LETTER, informed_on="2026-01-10"
        ),
        consent_by=pb.CONSENT_BY_PERSON,
    )
    signal = register(signals, req)
    assert not signal.multi_problem_attested
    at_day(signals, 700)
    err = refused(
        signals.stub.RenewSignal, pb.RenewSignalRequest(signal_id=signal.signal_id, professional_id="prof-1")
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason_of(err) == "multi_problem_not_attested"
    renewed = signals.stub.RenewSignal(
        pb.RenewSignalRequest(
            signal_id=signal.signal_id,
            professional_id="prof-1",
            multi_problem_attested=True,
            consent_given=True,
        ),
        timeout=T,
    ).signal
    assert renewed.multi_problem_attested and renewed.consent_given


def test_reminder_once_per_active_period(signals: SignalHarness) -> None:
    signal = register(signals, request())
    at_day(signals, 699)  # 31 days left
    assert lifecycle(signals) == (0, 0, 0)
    at_day(signals, 700)  # 30 days left
    assert lifecycle(signals) == (1, 0, 0)
    at_day(signals, 710)
    assert lifecycle(signals) == (0, 0, 0)
    reminder = signals.notify.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_LAPSING_SOON)
    assert reminder.professional.email == "anna@jeugdzorg.example"
    assert reminder.active_until == signal.active_until
    # Renewed: a new period, a new reminder 30 days before it ends.
    signals.stub.RenewSignal(
        pb.RenewSignalRequest(signal_id=signal.signal_id, professional_id="prof-1", consent_given=True),
        timeout=T,
    )
    at_day(signals, 710 + 700)
    assert lifecycle(signals) == (1, 0, 0)
    deadline = time.monotonic() + 20
    while len(signals.notify.of(signal.signal_id, pb.SIGNAL_EVENT_KIND_LAPSING_SOON)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # Reminders go to notify only.
    assert signals.match.of(signal.signal_id, pb.SIGNAL_EVENT_KIND_LAPSING_SOON) == []


def test_remove_after_objection(signals: SignalHarness) -> None:
    active = register(signals, request())
    archived = register(signals, request("1.other"))
    end(signals, archived.signal_id, pb.END_REASON_OTHER)
    for signal in (active, archived):
        signals.stub.RemoveSignal(
            pb.RemoveSignalRequest(signal_id=signal.signal_id, reason=pb.END_REASON_OBJECTION_UPHELD),
            timeout=T,
        )
        event = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_DELETED)
        assert event.end_reason == pb.END_REASON_OBJECTION_UPHELD
    assert signals.count("signals") == 0
    err = refused(signals.stub.RemoveSignal, pb.RemoveSignalRequest(signal_id=active.signal_id))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    other = register(signals, request("1.third"))
    err = refused(
        signals.stub.RemoveSignal,
        pb.RemoveSignalRequest(signal_id=other.signal_id, reason=pb.END_REASON_GOAL_REACHED),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason_of(err) == "remove_reason_not_allowed"
    assert get(signals, other.signal_id) == other


def test_list_signals_on_pseudonym_for_access_requests(signals: SignalHarness) -> None:
    a = register(signals, request("1.person"))
    b = register(signals, request("1.person", professional_id="prof-2", organisation_id="org-2"))
    register(signals, request("1.unrelated"))
    end(signals, a.signal_id, pb.END_REASON_GOAL_REACHED)
    listed = signals.stub.ListSignalsOnPseudonym(
        pb.ListSignalsOnPseudonymRequest(pseudonym="1.person"), timeout=T
    )
    assert {s.signal_id for s in listed.signals} == {a.signal_id, b.signal_id}
    assert {s.status for s in listed.signals} == {pb.SIGNAL_STATUS_ACTIVE, pb.SIGNAL_STATUS_ARCHIVED}
    empty = signals.stub.ListSignalsOnPseudonym(
        pb.ListSignalsOnPseudonymRequest(pseudonym="1.nobody"), timeout=T
    )
    assert list(empty.signals) == []
    err = refused(signals.stub.ListSignalsOnPseudonym, pb.ListSignalsOnPseudonymRequest())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason_of(err) == "pseudonym_missing"


def test_bulk_registration_per_item_results(signals: SignalHarness) -> None:
    existing = register(signals, request("1.existing"))
    bad = request("1.bad", birth_date="2099-01-01")
    items = [
        request("1.bulk0"),
        bad,
        request("1.existing"),
        adult_request("1.bulk1"),
        request("1.bulk0"),  # the same person twice in one load
        request("1.bulk2", professional_id="prof-2"),
    ]
    results = signals.stub.RegisterSignals(
        pb.RegisterSignalsRequest(signals=items, bulk=True), timeout=30
    ).results
    assert [r.reason for r in results] == [
        "",
        "birth_date_in_future",
        "signal_exists",
        "",
        "signal_exists",
        "",
    ]
    assert all(r.detail for r in results if r.reason)
    stored = [r.signal for r in results if r.HasField("signal")]
    assert len(stored) == 3
    assert signals.count("signals") == 4
    for s in stored:
        assert get(signals, s.signal_id, s.professional.professional_id) == s
        event = signals.match.wait_for(s.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED)
        assert event.bulk and event.signal_version == 1
    assert existing.signal_id not in {s.signal_id for s in stored}


def test_bulk_of_many_is_fast_enough(signals: SignalHarness) -> None:
    items = [request(f"1.load{i}", professional_id=f"prof-{i % 7}") for i in range(2000)]
    started = time.monotonic()
    results = signals.stub.RegisterSignals(
        pb.RegisterSignalsRequest(signals=items, bulk=True), timeout=60
    ).results
    elapsed = time.monotonic() - started
    assert all(r.HasField("signal") for r in results)
    assert signals.count("signals") == 2000
    assert elapsed < 20  # generous on two shared cores; typically well under 2 s


def test_too_large_bulk_is_refused(signals: SignalHarness) -> None:
    items = [pb.RegisterSignalRequest()] * 10_001
    err = refused(signals.stub.RegisterSignals, pb.RegisterSignalsRequest(signals=items))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason_of(err) == "batch_too_large"


def test_lifecycle_works_in_batches(make_signal_service) -> None:
    h = make_signal_service(lifecycle_batch_size=3)
    items = [request(f"1.p{i}") for i in range(10)]
    h.stub.RegisterSignals(pb.RegisterSignalsRequest(signals=items), timeout=30)
    at_day(h, 700)
    assert lifecycle(h) == (10, 0, 0)
    at_day(h, 730)
    assert lifecycle(h) == (0, 10, 0)
    at_day(h, 730 + 1825)
    assert lifecycle(h) == (0, 0, 10)
    assert h.count("signals") == 0


def test_lifecycle_runs_on_its_own_schedule(make_signal_service) -> None:
    h = make_signal_service(lifecycle_interval_seconds=0.2)
    signal = register(h, request())
    at_day(h, 731)
    event = h.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert event.end_reason == pb.END_REASON_EXPIRED
