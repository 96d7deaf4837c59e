"""Issue 12: a recorded death ends every active signal on the person (deceased, archived, not
deleted); a professional who leaves can have all active signals ended instead of transferred."""

from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, request
from services.signal.tests.test_lifecycle import T, get, register


def test_a_death_ends_every_active_signal_on_the_person(signals: SignalHarness) -> None:
    first = register(signals, request("1.person"))
    second = register(signals, request("1.person", professional_id="prof-2", organisation_id="org-2"))
    other = register(signals, request("1.someone-else"))
    resp = signals.stub.RecordDeath(pb.RecordDeathRequest(pseudonym="1.person"), timeout=T)
    assert resp.ended == 2
    for signal, professional in ((first, "prof-1"), (second, "prof-2")):
        ended = get(signals, signal.signal_id, professional)
        assert ended.status == pb.SIGNAL_STATUS_ARCHIVED and ended.end_reason == pb.END_REASON_DECEASED
        assert ended.delete_after.seconds > 0  # archived, kept its retention period
        for recorder in (signals.match, signals.notify):
            told = recorder.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
            assert told.end_reason == pb.END_REASON_DECEASED
    assert get(signals, other.signal_id).status == pb.SIGNAL_STATUS_ACTIVE
    # Idempotent: nothing active is left.
    assert signals.stub.RecordDeath(pb.RecordDeathRequest(pseudonym="1.person"), timeout=T).ended == 0


def test_all_signals_of_a_leaver_are_ended(signals: SignalHarness) -> None:
    mine = [register(signals, request(f"1.person-{n}")) for n in range(3)]
    colleague = register(signals, request("1.person-0", professional_id="prof-2"))
    resp = signals.stub.EndSignalsOfProfessional(
        pb.EndSignalsOfProfessionalRequest(professional_id="prof-1"), timeout=T
    )
    assert resp.ended == 3
    for signal in mine:
        ended = get(signals, signal.signal_id)
        assert ended.status == pb.SIGNAL_STATUS_ARCHIVED and ended.end_reason == pb.END_REASON_OTHER
        signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert get(signals, colleague.signal_id, "prof-2").status == pb.SIGNAL_STATUS_ACTIVE
