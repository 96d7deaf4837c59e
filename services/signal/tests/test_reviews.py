"""Issue 22: a change of legal basis flags the organisation's active signals for review by its
admin, who confirms (the signal stays) or ends each one (archived, match told)."""

import grpc
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, request
from services.signal.tests.test_lifecycle import T, get, register


def listed(signals: SignalHarness, organisation_id: str) -> list[str]:
    resp = signals.stub.ListSignalsForReview(
        pb.ListSignalsForReviewRequest(organisation_id=organisation_id), timeout=T
    )
    return sorted(s.signal.signal_id for s in resp.signals)


def test_flag_confirm_and_end(signals: SignalHarness) -> None:
    mine = [register(signals, request(f"1.person-{n}")) for n in range(3)]
    other = register(signals, request("1.person-0", professional_id="prof-2", organisation_id="org-2"))
    ended_before = register(signals, request("1.person-9"))
    signals.stub.EndSignal(
        pb.EndSignalRequest(
            signal_id=ended_before.signal_id, professional_id="prof-1", reason=pb.END_REASON_GOAL_REACHED
        ),
        timeout=T,
    )
    flagged = signals.stub.FlagSignalsForReview(
        pb.FlagSignalsForReviewRequest(organisation_id="org-1", reason="Grondslag gewijzigd"), timeout=T
    )
    assert flagged.flagged == 3  # active signals of org-1 only
    assert listed(signals, "org-1") == sorted(s.signal_id for s in mine)
    assert listed(signals, "org-2") == []
    first = signals.stub.ListSignalsForReview(
        pb.ListSignalsForReviewRequest(organisation_id="org-1"), timeout=T
    )
    assert first.signals[0].reason == "Grondslag gewijzigd" and first.signals[0].flagged_at.seconds > 0

    # Confirm: the signal stays active and leaves the list.
    kept = signals.stub.ReviewSignal(
        pb.ReviewSignalRequest(organisation_id="org-1", signal_id=mine[0].signal_id, confirm=True), timeout=T
    )
    assert kept.signal.status == pb.SIGNAL_STATUS_ACTIVE
    # End: archived as a professional would end it; match is told.
    gone = signals.stub.ReviewSignal(
        pb.ReviewSignalRequest(organisation_id="org-1", signal_id=mine[1].signal_id, confirm=False), timeout=T
    )
    assert gone.signal.status == pb.SIGNAL_STATUS_ARCHIVED and gone.signal.end_reason == pb.END_REASON_OTHER
    signals.match.wait_for(mine[1].signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    assert get(signals, mine[0].signal_id).status == pb.SIGNAL_STATUS_ACTIVE
    assert listed(signals, "org-1") == [mine[2].signal_id]

    # Another organisation, or a signal not flagged, reads as unknown.
    for org, signal_id in (
        ("org-2", mine[2].signal_id),
        ("org-1", mine[0].signal_id),
        ("org-2", other.signal_id),
    ):
        with pytest.raises(grpc.RpcError) as exc:
            signals.stub.ReviewSignal(
                pb.ReviewSignalRequest(organisation_id=org, signal_id=signal_id, confirm=False), timeout=T
            )
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert get(signals, other.signal_id, "prof-2").status == pb.SIGNAL_STATUS_ACTIVE


def test_may_coordinate_follows_the_organisation(signals: SignalHarness) -> None:
    mine = register(signals, request("1.person-1"))
    other = register(signals, request("1.person-1", professional_id="prof-2", organisation_id="org-2"))
    resp = signals.stub.SetOrganisationMayCoordinate(
        pb.SetOrganisationMayCoordinateRequest(organisation_id="org-1", may_coordinate=False), timeout=T
    )
    assert resp.updated == 1
    # The next event of the signal tells match the new value (not the one at registration).
    assert signals.match.wait_for(mine.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED).may_coordinate
    for signal, professional in ((mine, "prof-1"), (other, "prof-2")):
        signals.stub.EndSignal(
            pb.EndSignalRequest(
                signal_id=signal.signal_id, professional_id=professional, reason=pb.END_REASON_GOAL_REACHED
            ),
            timeout=T,
        )
    assert not signals.match.wait_for(mine.signal_id, pb.SIGNAL_EVENT_KIND_ENDED).may_coordinate
    assert signals.match.wait_for(other.signal_id, pb.SIGNAL_EVENT_KIND_ENDED).may_coordinate
