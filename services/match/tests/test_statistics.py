"""GetMatchStatistics over real gRPC on a real PostgreSQL: counts only, no access-log line."""

from collections.abc import Callable
from datetime import UTC, datetime

import grpc
import pytest
from sluis.match.v1 import match_pb2 as pb

from services.match.tests.helpers import ended, event
from services.match.tests.test_server import Harness, make_harness, person  # noqa: F401 - fixture


def stats(h: Harness, first: str, last: str, org: str = "") -> pb.GetMatchStatisticsResponse:
    return h.stub.GetMatchStatistics(
        pb.GetMatchStatisticsRequest(organisation_id=org, from_month=first, to_month=last), timeout=5
    )


def as_dict(counts: object) -> dict[tuple[str, str], int]:
    return {(c.month, c.key): c.count for c in counts}  # type: ignore[attr-defined]


def test_started_closed_per_organisation_domain_and_pair(make_harness: Callable[[float], Harness]) -> None:  # noqa: F811
    h = make_harness(0.0)
    p1, p2, p3 = person(), person(), person()
    h.clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    a1 = event("a", "o1", p1, domains=("youth",))
    h.apply(a1, event("b", "o2", p1, minute=1, domains=("debt",)))
    h.apply(event("a", "o1", p2, domains=("youth",)), event("c", "o3", p2, minute=1, domains=("youth",)))
    h.clock.set(datetime(2026, 4, 5, 9, 0, tzinfo=UTC))
    h.apply(ended(a1))  # p1's match closes in April
    h.apply(event("b", "o2", p3), event("c", "o3", p3, minute=1))
    log_before = h.sql("SELECT count(*) FROM access_log")

    got = stats(h, "2026-01", "2026-04")
    assert as_dict(got.started) == {("2026-03", ""): 2, ("2026-04", ""): 1}
    assert as_dict(got.closed) == {("2026-04", ""): 1}
    assert as_dict(got.by_organisation) == {("", "o1"): 2, ("", "o2"): 2, ("", "o3"): 2}
    assert as_dict(got.by_domain) == {("", "youth"): 2, ("", "debt"): 1}
    pairs = {(p.organisation_a, p.organisation_b): p.count for p in got.organisation_pairs}
    assert pairs == {("o1", "o2"): 1, ("o1", "o3"): 1, ("o2", "o3"): 1}

    # One organisation: only the matches it took part in, only its own pairs.
    own = stats(h, "2026-01", "2026-04", "o1")
    assert as_dict(own.started) == {("2026-03", ""): 2}
    assert {(p.organisation_a, p.organisation_b) for p in own.organisation_pairs} == {
        ("o1", "o2"),
        ("o1", "o3"),
    }
    assert as_dict(stats(h, "2026-04", "2026-04").started) == {("2026-04", ""): 1}

    # Counting is not a read of anyone's involvement: the access log did not grow.
    assert h.sql("SELECT count(*) FROM access_log") == log_before


def test_bad_months_are_invalid_argument(make_harness: Callable[[float], Harness]) -> None:  # noqa: F811
    with pytest.raises(grpc.RpcError) as caught:
        stats(make_harness(0.0), "2026-4", "2026-05")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
