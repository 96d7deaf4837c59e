"""Issue 12: a professional leaves; their active signals go to a colleague with their dates."""

import grpc
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, contact, reason_of, request
from services.signal.tests.test_lifecycle import T, get, refused, register


def test_transfer_keeps_dates_and_ends_what_the_colleague_already_holds(signals: SignalHarness) -> None:
    first = register(signals, request("1.person-a"))
    second = register(signals, request("1.person-b"))
    register(signals, request("1.person-b", professional_id="prof-2"))
    colleague = contact("prof-2")
    colleague.name, colleague.email = "Bert Jansen", "bert@jeugdzorg.example"
    resp = signals.stub.TransferSignals(
        pb.TransferSignalsRequest(from_professional_id="prof-1", to=colleague), timeout=T
    )
    assert (resp.transferred, resp.ended) == (1, 1)
    moved = get(signals, first.signal_id, "prof-2")
    assert moved.registered_at == first.registered_at and moved.active_until == first.active_until
    assert moved.professional.name == "Bert Jansen" and moved.status == pb.SIGNAL_STATUS_ACTIVE
    assert get(signals, second.signal_id).status == pb.SIGNAL_STATUS_ARCHIVED
    event = signals.match.wait_for(first.signal_id, pb.SIGNAL_EVENT_KIND_TRANSFERRED)
    assert event.transferred_from_professional_id == "prof-1"
    assert event.professional.professional_id == "prof-2" and event.signal_version == 2
    signals.match.wait_for(second.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    # Nothing left to transfer; another organisation's professional is refused.
    again = signals.stub.TransferSignals(
        pb.TransferSignalsRequest(from_professional_id="prof-1", to=colleague), timeout=T
    )
    assert (again.transferred, again.ended) == (0, 0)
    outsider = contact("prof-9", "org-2")
    err = refused(
        signals.stub.TransferSignals, pb.TransferSignalsRequest(from_professional_id="prof-2", to=outsider)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason_of(err) == "organisation_mismatch"
    assert get(signals, first.signal_id, "prof-2").professional.professional_id == "prof-2"
