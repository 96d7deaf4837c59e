"""Issue 17: the professional's own client reference lives on the signal row only: set at
registration or later by its owner, never in an event, gone with the signal."""

import grpc
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, metadata_of, reason_of, request

T = 5


def test_reference_is_stored_changed_and_never_in_an_event(signals: SignalHarness) -> None:
    sig = signals.stub.RegisterSignal(request(client_reference=" WT-2026/17 "), timeout=T).signal
    assert sig.client_reference == "WT-2026/17"
    got = signals.stub.GetSignal(
        pb.GetSignalRequest(signal_id=sig.signal_id, professional_id="prof-1"), timeout=T
    )
    assert got.signal.client_reference == "WT-2026/17"

    changed = signals.stub.SetClientReference(
        pb.SetClientReferenceRequest(
            signal_id=sig.signal_id, professional_id="prof-1", client_reference="Z 9"
        ),
        timeout=T,
    ).signal
    assert changed.client_reference == "Z 9" and changed.version == sig.version
    # Nobody else's: the one NOT_FOUND.
    with pytest.raises(grpc.RpcError) as other:
        signals.stub.SetClientReference(
            pb.SetClientReferenceRequest(
                signal_id=sig.signal_id, professional_id="prof-2", client_reference="x"
            ),
            timeout=T,
        )
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as bad:
        signals.stub.SetClientReference(
            pb.SetClientReferenceRequest(
                signal_id=sig.signal_id, professional_id="prof-1", client_reference="naam: Jan"
            ),
            timeout=T,
        )
    assert (
        reason_of(bad.value) == "client_reference_invalid"
        and metadata_of(bad.value)["sluis-meta-field"] == "clientReference"
    )

    # The change is a processing with its own log line; the line never holds the reference.
    logged = signals.sql("SELECT attributes FROM processing_log WHERE name = 'signal.client_reference'")
    assert [(a["sluis.signal_id"], a["change"]) for (a,) in logged] == [(sig.signal_id, "set")]
    assert "Z 9" not in str(logged)

    # Not in any event or outbox row: only the signals table holds it.
    signals.match.wait_for(sig.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED)
    for event in signals.match.of(sig.signal_id) + signals.notify.of(sig.signal_id):
        assert b"WT-2026/17" not in event.SerializeToString() and b"Z 9" not in event.SerializeToString()
    assert not signals.sql("SELECT 1 FROM outbox WHERE position('Z 9' in encode(payload, 'escape')) > 0")

    # Ended as unjustified: the row, and with it the reference, is gone.
    signals.stub.EndSignal(
        pb.EndSignalRequest(
            signal_id=sig.signal_id, professional_id="prof-1", reason=pb.END_REASON_UNJUSTIFIED
        ),
        timeout=T,
    )
    assert signals.sql("SELECT count(*) FROM signals WHERE client_reference IS NOT NULL") == [(0,)]


def test_list_signals_narrows_to_the_asked_ids(signals: SignalHarness) -> None:
    a = signals.stub.RegisterSignal(request("1.pA", client_reference="A"), timeout=T).signal
    b = signals.stub.RegisterSignal(request("1.pB"), timeout=T).signal
    theirs = signals.stub.RegisterSignal(request("1.pC", professional_id="prof-2"), timeout=T).signal
    listed = signals.stub.ListSignals(
        pb.ListSignalsRequest(
            professional_id="prof-1", signal_ids=[a.signal_id, theirs.signal_id, "geen-id"]
        ),
        timeout=T,
    ).signals
    assert [s.signal_id for s in listed] == [a.signal_id]
    assert listed[0].client_reference == "A"
    everything = signals.stub.ListSignals(pb.ListSignalsRequest(professional_id="prof-1"), timeout=T).signals
    assert {s.signal_id for s in everything} == {a.signal_id, b.signal_id}
