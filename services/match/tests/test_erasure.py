"""Issue 12: a deleted signal leaves no copy in match (involvement, member rows, empty match)."""

from collections.abc import Callable

import pytest
from sluis.match.v1 import match_pb2 as pb

from services.match.tests.helpers import DELETED, ENDED, REGISTERED, ended, event
from services.match.tests.test_server import (  # noqa: F401 (fixtures)
    Harness,
    make_harness,
    person,
)


@pytest.fixture
def h(make_harness: Callable[[float], Harness]) -> Harness:  # noqa: F811
    return make_harness(0.0)


# The processing log is the allowed exception: accountability of what happened to the
# person outlives the signal (docs/retention.md); what it keeps is checked below.
PROCESSING_LOG = ("processing_log", "processing_audit", "processing_log_links")


def _dump(h: Harness) -> str:
    """Every row of every match table (but the processing log) as text."""
    tables = [r[0] for r in h.sql("SELECT relname FROM pg_stat_user_tables") if r[0] not in PROCESSING_LOG]
    return "\n".join(str(h.sql(f'SELECT * FROM "{t}"')) for t in tables)  # noqa: S608


def test_deleted_signal_leaves_no_copy(h: Harness) -> None:
    p = person()
    a, b, c = event("a", "o1", p), event("b", "o2", p, minute=1), event("c", "o3", p, minute=2)
    h.apply(a, b, c)
    match_id = h.involvement(p, "a").match.match_id
    gone = ended(c, DELETED)
    h.apply(gone)
    h.wait_for(lambda: any(e.kind == pb.MATCH_EVENT_KIND_ERASED for e in h.events_for(match_id)))
    dump = _dump(h)
    assert c.signal_id not in dump
    assert c.professional.email not in dump and c.professional.name not in dump
    # The log keeps that c's organisation joined and left, and nothing of c's contact or the
    # person in the clear.
    kept = h.sql(
        "SELECT name, attributes::text FROM processing_log WHERE attributes->>'sluis.signal_id' = %s",
        c.signal_id,
    )
    assert {name for name, _ in kept} == {"match.member_joined", "match.member_left"}
    everything = str(h.sql("SELECT * FROM processing_log")) + str(h.sql("SELECT * FROM processing_audit"))
    assert c.professional.email not in everything and c.professional.name not in everything
    subjects = h.sql("SELECT subject_id, subject_tag FROM processing_log")
    assert subjects and all(p.encode() not in bytes(x) for row in subjects for x in row)
    assert h.involvement(p, "a").match.match_id == match_id  # a and b still match
    # A late redelivery of the registration does not bring the signal back; nor does a repeat.
    late = event("c", "o3", p, minute=2)
    late.signal_id = c.signal_id
    assert late.kind == REGISTERED
    h.apply(late, ended(c, DELETED))
    assert c.signal_id not in _dump(h)
    erased = [e for e in h.events_for(match_id) if e.kind == pb.MATCH_EVENT_KIND_ERASED]
    assert len(erased) == 1
    assert sorted(r.professional_id for r in erased[0].recipients) == ["a", "b"]


def test_match_without_members_goes(h: Harness) -> None:
    p = person()
    a, b = event("a", "o1", p), event("b", "o2", p, minute=1)
    h.apply(a, b)
    h.apply(ended(a, ENDED))
    assert h.sql("SELECT status FROM matches WHERE pseudonym = %s", p) == [("closed",)]
    # Both signals purged after their archive period (or deleted): the closed match goes too.
    h.apply(ended(ended(a, ENDED), DELETED), ended(b, DELETED))
    assert h.sql("SELECT count(*) FROM matches WHERE pseudonym = %s", p) == [(0,)]
    for table in ("involvements", "matches", "match_members"):
        assert p not in str(h.sql(f"SELECT * FROM {table}"))  # noqa: S608
