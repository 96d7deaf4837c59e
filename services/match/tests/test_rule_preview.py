"""Coordinator-rule versions and the preview of proposed rules on the open matches (issue 16):
counts only, nothing stored, the sitting coordinator untouched."""

from collections.abc import Callable

import pytest
from sluis.match.v1 import match_pb2 as pb

from services.match.tests.helpers import event
from services.match.tests.test_server import Harness, make_harness, person  # noqa: F401 - the fixture


@pytest.fixture
def match(make_harness: Callable[[float], Harness]) -> Harness:  # noqa: F811
    return make_harness(0.0)


def test_preview_counts_open_matches_whose_choice_would_change(match: Harness) -> None:
    p1, p2 = person(), person()
    match.apply(event("a", "o1", p1), event("b", "o2", p1, minute=1))
    match.apply(event("c", "o1", p2), event("d", "o3", p2, minute=1, may_coordinate=False))
    before = match.involvement(p1, "a").match.coordinator_professional_id
    assert before == "a"  # the oldest who may coordinate, without rules

    proposal = pb.CoordinatorRules(organisation_priority=["o2"], domain_priority=[])
    preview = match.stub.PreviewCoordinatorRules(pb.PreviewCoordinatorRulesRequest(rules=proposal), timeout=5)
    assert (preview.open_matches, preview.changed) == (2, 1)
    counts = {o.organisation_id: (o.current, o.proposed) for o in preview.organisations}
    assert counts == {"o1": (2, 1), "o2": (0, 1)}
    # Nothing stored, nothing changed.
    assert match.stub.GetCoordinatorRules(pb.GetCoordinatorRulesRequest(), timeout=5).rules.version == 0
    assert match.involvement(p1, "a").match.coordinator_professional_id == before


def test_every_version_is_kept_newest_first(match: Harness) -> None:
    for orgs in (["o1"], ["o2", "o1"], []):
        match.stub.SetCoordinatorRules(
            pb.SetCoordinatorRulesRequest(
                rules=pb.CoordinatorRules(organisation_priority=orgs), admin_id="ra"
            ),
            timeout=5,
        )
    versions = match.stub.ListCoordinatorRuleVersions(
        pb.ListCoordinatorRuleVersionsRequest(), timeout=5
    ).versions
    assert [v.version for v in versions] == [3, 2, 1]
    assert [list(v.organisation_priority) for v in versions] == [[], ["o2", "o1"], ["o1"]]
    assert all(v.created_by == "ra" for v in versions)
