"""GetSignalStatistics over real gRPC on a real PostgreSQL: counts only, nothing written."""

from datetime import UTC, datetime

import grpc
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from services.signal.tests.helpers import SignalHarness, adult_request, reason_of, request

T = 5


def stats(h: SignalHarness, first: str, last: str, org: str = "") -> pb.GetSignalStatisticsResponse:
    return h.stub.GetSignalStatistics(
        pb.GetSignalStatisticsRequest(organisation_id=org, from_month=first, to_month=last), timeout=T
    )


def as_dict(counts: object) -> dict[tuple[str, str], int]:
    return {(c.month, c.key): c.count for c in counts}  # type: ignore[attr-defined]


def test_counts_per_month_reason_organisation_age_and_municipality(signals: SignalHarness) -> None:
    h = signals
    # January: two youth signals of org-1 (13 years old), one adult signal of org-2.
    h.clock.set(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    a = h.stub.RegisterSignal(request("1.p1"), timeout=T).signal
    h.stub.RegisterSignal(request("1.p2"), timeout=T)
    h.stub.RegisterSignal(adult_request("1.p3", professional_id="prof-2", organisation_id="org-2"), timeout=T)
    # 31 January 23:30 UTC is already February in Amsterdam.
    h.clock.set(datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    h.stub.RegisterSignal(request("1.p4"), timeout=T)
    # March: one ended (goal reached).
    h.clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    h.stub.EndSignal(
        pb.EndSignalRequest(
            signal_id=a.signal_id, professional_id="prof-1", reason=pb.END_REASON_GOAL_REACHED
        ),
        timeout=T,
    )
    h.sql("UPDATE signals SET municipality_code = '0228' WHERE pseudonym = '1.p2' RETURNING 1")
    # The relay drains the outbox meanwhile: compare what was ever written (the id sequence),
    # not what is still waiting.
    written = "SELECT last_value FROM pg_sequences WHERE sequencename = 'outbox_id_seq'"
    outbox_before = h.sql(written)

    got = stats(h, "2026-01", "2026-03")
    assert as_dict(got.registered) == {("2026-01", ""): 3, ("2026-02", ""): 1}
    assert as_dict(got.ended) == {("2026-03", "goal_reached"): 1}
    assert as_dict(got.active) == {("2026-01", ""): 3, ("2026-02", ""): 4, ("2026-03", ""): 3}
    assert as_dict(got.by_organisation) == {("", "org-1"): 3, ("", "org-2"): 1}
    assert as_dict(got.by_domain) == {("", "care"): 4, ("", "youth"): 4}
    assert as_dict(got.by_age_band) == {("", "0-11"): 0, ("", "12-17"): 3, ("", "18-22"): 0, ("", "23+"): 1}
    assert as_dict(got.by_municipality) == {("", ""): 3, ("", "0228"): 1}

    # One organisation only.
    own = stats(h, "2026-01", "2026-03", "org-2")
    assert as_dict(own.registered) == {("2026-01", ""): 1}
    assert as_dict(own.by_organisation) == {("", "org-2"): 1}
    assert as_dict(own.active) == {("2026-01", ""): 1, ("2026-02", ""): 1, ("2026-03", ""): 1}

    # A period before anything happened counts nothing.
    assert not stats(h, "2025-01", "2025-12").registered
    # Counting wrote nothing.
    assert h.sql(written) == outbox_before


@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [
        ("2026-13", "2026-12", "invalid_month"),
        ("", "2026-01", "invalid_month"),
        ("2026-03", "2026-01", "invalid_period"),
        ("2000-01", "2026-01", "invalid_period"),
    ],
)
def test_bad_months_are_invalid_argument(signals: SignalHarness, first: str, last: str, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stats(signals, first, last)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(caught.value) == reason
