"""Issue 16: restriction of processing (AVG art. 18). A restricted signal stays stored; match is
told (RESTRICTION_CHANGED, restricted) and every later event of the signal carries the flag."""

import time

import grpc
from sluis.signal.v1 import signal_pb2 as pb

from services.signal import domain
from services.signal.tests.helpers import SignalHarness, reason_of, request
from services.signal.tests.test_domain import _signal
from services.signal.tests.test_lifecycle import T, refused, register


def restrict(signals: SignalHarness, ids: list[str], restricted: bool = True) -> int:
    resp = signals.stub.RestrictSignals(
        pb.RestrictSignalsRequest(signal_ids=ids, restricted=restricted), timeout=T
    )
    return int(resp.changed)


def test_restriction_is_stored_told_to_match_and_lifted(signals: SignalHarness) -> None:
    signal = register(signals, request("1.restricted-person"))
    assert restrict(signals, [signal.signal_id, "00000000-0000-0000-0000-000000000000"]) == 1
    assert restrict(signals, [signal.signal_id]) == 0  # idempotent
    event = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED)
    assert event.restricted and event.signal_version == signal.version + 1
    stored = signals.stub.GetSignal(
        pb.GetSignalRequest(signal_id=signal.signal_id, professional_id="prof-1"), timeout=T
    ).signal
    assert stored.restricted and stored.status == pb.SIGNAL_STATUS_ACTIVE
    assert signals.sql("SELECT restricted FROM signals WHERE signal_id = %s", (signal.signal_id,)) == [
        (True,)
    ]

    assert restrict(signals, [signal.signal_id], restricted=False) == 1
    deadline = time.monotonic() + 30
    while not (
        lifted := [
            e
            for e in signals.match.of(signal.signal_id, pb.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED)
            if not e.restricted
        ]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert lifted[0].signal_version == signal.version + 2


def test_an_archived_signal_is_restricted_without_telling_match(signals: SignalHarness) -> None:
    signal = register(signals, request("1.archived-person"))
    signals.stub.EndSignal(
        pb.EndSignalRequest(
            signal_id=signal.signal_id, professional_id="prof-1", reason=pb.END_REASON_GOAL_REACHED
        ),
        timeout=T,
    )
    assert restrict(signals, [signal.signal_id]) == 1
    assert signals.sql("SELECT restricted FROM signals WHERE signal_id = %s", (signal.signal_id,)) == [
        (True,)
    ]
    assert not signals.match.of(signal.signal_id, pb.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED)


def test_malformed_ids_are_refused(signals: SignalHarness) -> None:
    err = refused(
        signals.stub.RestrictSignals, pb.RestrictSignalsRequest(signal_ids=["nonsense"], restricted=True)
    )
    assert err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT), reason_of(err)


def test_with_restriction_raises_the_version_only_on_a_change() -> None:
    signal = _signal()
    after = domain.with_restriction(signal, True)
    assert after is not None and after.restricted and after.version == signal.version + 1
    assert domain.with_restriction(after, True) is None
    lifted = domain.with_restriction(after, False)
    assert lifted is not None and not lifted.restricted and lifted.version == signal.version + 2
