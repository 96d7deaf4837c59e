"""Issue 12: an upheld objection sticks until a region admin lifts the block."""

import time

import grpc
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, reason_of, request
from services.signal.tests.test_lifecycle import T, refused, register


def test_objection_blocks_the_organisation_until_lifted(signals: SignalHarness) -> None:
    signal = register(signals, request("1.person"))
    removed = signals.stub.RemoveSignal(
        pb.RemoveSignalRequest(signal_id=signal.signal_id, reason=pb.END_REASON_OBJECTION_UPHELD), timeout=T
    )
    assert removed.objection_id
    # The same organisation, any of its professionals: refused; another organisation: allowed.
    for professional in ("prof-1", "prof-2"):
        err = refused(signals.stub.RegisterSignal, request("1.person", professional_id=professional))
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and reason_of(err) == "objection_upheld"
    register(signals, request("1.person", professional_id="prof-9", organisation_id="org-2"))
    register(signals, request("1.someone-else"))
    # The professional is told why, without the signal id or the person.
    deadline = time.monotonic() + 20
    while not (told := [e for e in signals.notify.of("") if e.kind == pb.SIGNAL_EVENT_KIND_DELETED]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert told[0].end_reason == pb.END_REASON_OBJECTION_UPHELD
    assert told[0].professional.professional_id == "prof-1" and told[0].pseudonym == ""
    assert signal.signal_id not in str(signals.sql("SELECT * FROM objection_blocks"))

    signals.stub.LiftObjectionBlock(
        pb.LiftObjectionBlockRequest(objection_id=removed.objection_id), timeout=T
    )
    again = register(signals, request("1.person"))
    assert again.signal_id != signal.signal_id
    err = refused(
        signals.stub.LiftObjectionBlock, pb.LiftObjectionBlockRequest(objection_id=removed.objection_id)
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND and reason_of(err) == "objection_not_found"
    err = refused(signals.stub.LiftObjectionBlock, pb.LiftObjectionBlockRequest(objection_id="nonsense"))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_bulk_intake_respects_the_block(signals: SignalHarness) -> None:
    signal = register(signals, request("1.bulk-person"))
    signals.stub.RemoveSignal(
        pb.RemoveSignalRequest(signal_id=signal.signal_id, reason=pb.END_REASON_OBJECTION_UPHELD), timeout=T
    )
    resp = signals.stub.RegisterSignals(
        pb.RegisterSignalsRequest(signals=[request("1.bulk-person"), request("1.bulk-other")]), timeout=T
    )
    assert resp.results[0].reason == "objection_upheld" and not resp.results[0].HasField("signal")
    assert resp.results[1].HasField("signal")
