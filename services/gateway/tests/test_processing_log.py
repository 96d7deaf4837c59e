"""Issue 13 at the gateway: the register is served, the anomaly report's rules, its API,
and the region admin's portal page."""

from sluis.types.v1 import processing_log_pb2 as lpb

from services.gateway.tests.test_admin import region_admin  # noqa: F401 (fixture)
from services.gateway.tests.test_api import BODY
from services.gateway.tests.test_web import login, person
from services.gateway.usecases.anomalies import findings


def test_processing_activities_are_served_without_credentials(client) -> None:
    resp = client.get("/v1/processing-activities")
    assert resp.status_code == 200
    doc = resp.get_json()
    ids = {a["id"] for a in doc["activities"]}
    assert {"signalering", "betrokkenheid-inzien", "match-melding", "inzageverzoek"} <= ids
    for a in doc["activities"]:
        assert a["purpose"] and a["legalBasis"] and a["retention"].startswith("P")
        assert a["uri"].endswith("/" + a["id"])


def anomaly(kind: str, org: str, pro: str, count: int, total: int = 0, day: str = "") -> lpb.Anomaly:
    return lpb.Anomaly(kind=kind, organisation_id=org, professional_id=pro, count=count, total=total, day=day)


def test_anomaly_rules() -> None:
    raw = [
        anomaly("quick_end", "o1", "p1", 2),
        anomaly("refused_lookups", "o2", "p9", 5),
        anomaly("bulk_unjustified", "o1", "", 3, 10, "2026-11-01"),  # 30 %: flagged
        anomaly("bulk_unjustified", "o1", "", 1, 100, "2026-11-02"),  # 1 %: fine
        anomaly("bulk_unjustified", "o3", "", 2, 4, "2026-11-02"),  # too small to judge
        *[anomaly("registrations", "o1", f"n{i}", 4) for i in range(5)],
        anomaly("registrations", "o1", "busy", 40),
        anomaly("registrations", "o4", "alone", 40),  # no colleagues: no norm
        anomaly("informing_overdue", "o2", "p8", 1),
    ]
    got = [(f.kind, f.organisation_id, f.professional_id, f.count) for f in findings(raw)]
    assert got == [
        ("quick_end", "o1", "p1", 2),
        ("refused_lookups", "o2", "p9", 5),
        ("bulk_unjustified", "o1", "", 3),
        ("above_norm", "o1", "busy", 40),
        ("informing_overdue", "o2", "p8", 1),
    ]


def test_anomaly_report_for_the_region_admin_only(client, region_admin, auth, app, demo) -> None:  # noqa: F811
    anna = client.post("/v1/signals", json=BODY, headers=auth("anna"))
    assert anna.status_code == 201
    resp = client.get("/v1/anomalies?days=7", headers=region_admin)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    (found,) = resp.get_json()["findings"]
    assert found["kind"] == "quick_end" and found["organisation"]["name"] == "Wijkteam Noord"
    assert found["professional"]["name"].startswith("Anna")
    assert client.get("/v1/anomalies", headers=auth("anna")).status_code == 403
    assert client.get("/v1/anomalies?days=0", headers=region_admin).status_code == 400
    web = app.test_client()
    login(web, person(demo, "regionAdmin"))
    page = web.get("/regio/afwijkingen")
    assert page.status_code == 200 and "Wijkteam Noord" in page.get_data(as_text=True)
