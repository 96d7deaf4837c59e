"""GET /v1/statistics: scope per role, problem+json on bad parameters, CSV, and - fuzzed with
hypothesis over the back ends' answers and the filters - never a count from 1 to 9."""

import csv
import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb

from services.common import aggregates
from services.gateway.tests.conftest import key_of
from services.gateway.usecases.statistics import END_REASONS


def admin_key(demo: dict[str, Any], role: str, organisation: str | None = None) -> dict[str, str]:
    admin = next(
        a
        for a in demo["admins"]
        if a["role"] == role and (organisation is None or a["organisation"] == organisation)
    )
    return {"Authorization": f"Bearer {admin['apiKey']}"}


def org_id(demo: dict[str, Any], name: str) -> str:
    return next(str(p["organisationId"]) for p in demo["professionals"] if p["organisation"] == name)


def leaves(doc: Any) -> list[Any]:
    if isinstance(doc, dict):
        return [leaf for value in doc.values() for leaf in leaves(value)]
    if isinstance(doc, list):
        return [leaf for value in doc for leaf in leaves(value)]
    return [doc]


def no_small_number(doc: Any) -> None:
    for leaf in leaves(doc):
        assert not (isinstance(leaf, int) and not isinstance(leaf, bool) and 1 <= leaf <= 9), doc


def test_region_admin_sees_the_region_suppressed(client, demo, fakes) -> None:
    fakes.signal.statistics = spb.GetSignalStatisticsResponse(
        registered=[
            spb.StatisticsCount(month="2026-01", count=3),
            spb.StatisticsCount(month="2026-02", count=40),
        ],
        by_age_band=[
            spb.StatisticsCount(key=band, count=n)
            for (band, *_), n in zip(aggregates.AGE_BANDS, (3, 0, 0, 40), strict=True)
        ],
    )
    resp = client.get("/v1/statistics?from=2026-01&to=2026-03", headers=admin_key(demo, "regionAdmin"))
    assert resp.status_code == 200, resp.get_json()
    doc = resp.get_json()
    assert doc["scope"] == {"kind": "region"}
    assert [m["registered"] for m in doc["signals"]["months"]] == ["<10", "x", 0]
    assert doc["signals"]["total"]["registered"] == 43
    assert [b["count"] for b in doc["signals"]["byAgeBand"]] == ["<10", 0, 0, "x"]
    assert fakes.signal.statistics_requests[-1].organisation_id == ""
    assert fakes.match.statistics_requests[-1].from_month == "2026-01"


def test_organisation_admin_sees_only_the_own_organisation(client, demo, fakes) -> None:
    headers = admin_key(demo, "organisationAdmin", "Wijkteam Noord")
    own = org_id(demo, "Wijkteam Noord")
    doc = client.get("/v1/statistics", headers=headers).get_json()
    assert doc["scope"] == {"kind": "organisation", "organisationId": own}
    assert len(doc["signals"]["months"]) == 12
    assert fakes.signal.statistics_requests[-1].organisation_id == own
    assert fakes.match.statistics_requests[-1].organisation_id == own
    other = org_id(demo, "Kredietbank")
    resp = client.get(f"/v1/statistics?organisationId={other}", headers=headers)
    assert resp.status_code == 404
    # A region admin may narrow to one organisation.
    region = admin_key(demo, "regionAdmin")
    doc = client.get(f"/v1/statistics?organisationId={other}", headers=region).get_json()
    assert doc["scope"]["organisationId"] == other


def test_professionals_get_no_statistics(client, demo) -> None:
    resp = client.get("/v1/statistics", headers={"Authorization": f"Bearer {key_of(demo, 'anna')}"})
    assert resp.status_code == 403


def test_bad_parameters_are_problems_naming_the_parameter(client, demo) -> None:
    headers = admin_key(demo, "regionAdmin")
    for query, name, reason in (
        ("from=2026-13", "from", "invalid_month"),
        ("from=januari", "from", "invalid_month"),
        ("to=2026-1", "to", "invalid_month"),
        ("from=2026-05&to=2026-01", "to", "invalid_period"),
        ("from=2000-01&to=2026-01", "to", "invalid_period"),
        ("format=xml", "format", "invalid_field"),
        ("page=2", "page", "unknown_parameter"),
    ):
        resp = client.get(f"/v1/statistics?{query}", headers=headers)
        assert resp.status_code == 400, query
        assert resp.mimetype == "application/problem+json"
        problem = resp.get_json()
        assert problem["code"] == reason, query
        assert [p["name"] for p in problem["invalidParams"]] == [name], query


def test_csv_by_format_or_accept(client, demo, fakes) -> None:
    fakes.signal.statistics = spb.GetSignalStatisticsResponse(
        registered=[spb.StatisticsCount(month="2026-01", count=12)]
    )
    headers = admin_key(demo, "regionAdmin")
    for resp in (
        client.get("/v1/statistics?from=2026-01&to=2026-02&format=csv", headers=headers),
        client.get("/v1/statistics?from=2026-01&to=2026-02", headers={**headers, "Accept": "text/csv"}),
    ):
        assert resp.status_code == 200
        assert resp.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
        assert rows[0] == ["table", "month", "key", "label", "count"]
        assert ["signals.registered", "2026-01", "", "", "12"] in rows
        assert ["signals.registered", "total", "", "", "12"] in rows
    # format wins over Accept.
    resp = client.get("/v1/statistics?format=json", headers={**headers, "Accept": "text/csv"})
    assert resp.mimetype == "application/json"


# -- fuzzed: any data, any filter, any admin: never a count from 1 to 9 ----------------------

SMALLISH = st.integers(min_value=0, max_value=25)
MONTHS = st.integers(min_value=0, max_value=14)


def _counts(data: st.DataObject, months: list[str], keys: list[str]) -> list[spb.StatisticsCount]:
    return [
        spb.StatisticsCount(month=m, key=k, count=data.draw(SMALLISH))
        for m in months
        for k in keys
        if data.draw(st.booleans())
    ]


def fuzzed_answers(data: st.DataObject, months: list[str], orgs: list[str]) -> tuple[Any, Any]:
    signal = spb.GetSignalStatisticsResponse(
        registered=_counts(data, months, [""]),
        ended=_counts(data, months, list(END_REASONS)),
        active=_counts(data, months, [""]),
        by_organisation=_counts(data, [""], orgs),
        by_domain=_counts(data, [""], ["youth", "care", "debt"]),
        by_age_band=_counts(data, [""], [band for band, *_ in aggregates.AGE_BANDS]),
        by_municipality=_counts(data, [""], ["", "0599", "0228"]),
    )
    pairs = [
        mpb.OrganisationPairCount(organisation_a=a, organisation_b=b, count=data.draw(SMALLISH))
        for i, a in enumerate(orgs)
        for b in orgs[i + 1 :]
        if data.draw(st.booleans())
    ]
    match = mpb.GetMatchStatisticsResponse(
        started=_counts(data, months, [""]),
        closed=_counts(data, months, [""]),
        by_organisation=_counts(data, [""], orgs),
        by_domain=_counts(data, [""], ["youth", "safety"]),
        organisation_pairs=pairs,
    )
    return signal, match


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_no_count_from_1_to_9_is_ever_returned(client, demo, fakes, data) -> None:
    start = data.draw(st.integers(min_value=2024 * 12, max_value=2026 * 12))
    length = data.draw(MONTHS)
    first = f"{start // 12}-{start % 12 + 1:02d}"
    last = f"{(start + length) // 12}-{(start + length) % 12 + 1:02d}"
    months = list(aggregates.period(first, last).months)
    orgs = sorted({str(p["organisationId"]) for p in demo["professionals"]})
    fakes.signal.statistics, fakes.match.statistics = fuzzed_answers(data, months, orgs)
    role = data.draw(st.sampled_from(["regionAdmin", "organisationAdmin"]))
    headers = admin_key(demo, role)
    query = f"from={first}&to={last}"
    if role == "regionAdmin" and data.draw(st.booleans()):
        query += f"&organisationId={data.draw(st.sampled_from(orgs))}"
    resp = client.get(f"/v1/statistics?{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    no_small_number(resp.get_json())
    resp = client.get(f"/v1/statistics?{query}&format=csv", headers=headers)
    for row in list(csv.reader(io.StringIO(resp.get_data(as_text=True))))[1:]:
        assert row[-1] not in {str(n) for n in range(1, 10)}, row
