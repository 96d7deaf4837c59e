"""Issue 13 at the gateway: the register is served, the anomaly report's rules, its API,
and the region admin's portal page."""

import re

import psycopg
from sluis.types.v1 import processing_log_pb2 as lpb

from services.gateway.tests.test_admin import region_admin  # noqa: F401 (fixture)
from services.gateway.tests.test_api import BODY, BSN
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


TRACEPARENT = "00-" + "a1" * 16 + "-" + "b2" * 8 + "-01"


def foreign_of_access_requests(gateway_db: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(gateway_db) as conn:
        rows = conn.execute(
            "SELECT foreign_trace_id, foreign_operation_id, foreign_entity FROM processing_log"
            " WHERE name = 'access.request' ORDER BY id"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_a_calling_systems_trace_is_the_foreign_operation(client, region_admin, gateway_db, fakes) -> None:  # noqa: F811
    body = {"bsn": BSN, "requester": "person", "caseReference": "Z-13-2"}
    # Another organisation's system calls in its own trace: the gateway's line and the line of
    # every service it calls (here: what the signal fake reads from the call) name that trace.
    resp = client.post("/v1/access-requests", json=body, headers={**region_admin, "traceparent": TRACEPARENT})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    # No traceparent: no foreign operation, whatever baggage the caller sends under our names.
    smuggled = "sluis.foreign.trace_id=" + "c3" * 16 + ",sluis.foreign.operation_id=" + "d4" * 8
    resp = client.post("/v1/access-requests", json=body, headers={**region_admin, "baggage": smuggled})
    assert resp.status_code == 200
    # A malformed traceparent is no foreign operation either.
    bad = {**region_admin, "traceparent": "00-" + "0" * 32 + "-" + "b2" * 8 + "-01"}
    assert client.post("/v1/access-requests", json=body, headers=bad).status_code == 200

    (first, second, third) = foreign_of_access_requests(gateway_db)
    assert first[:2] == ("a1" * 16, "b2" * 8)
    assert re.fullmatch(r"https://sluis\.nl/organisaties/regio/koppelingen/[0-9a-f-]{36}", first[2])
    assert second == third == ("", "", "")
    seen = fakes.signal.foreign_seen
    assert [(f.trace_id, f.operation_id, f.entity) for f in seen] == [first, second, third]


def test_a_signal_history_shows_its_reference_changes_from_the_log() -> None:
    from datetime import UTC, datetime

    from services.gateway.usecases.access import LogEntry, signal_histories

    def entry(name: str, day: int, **attributes: str) -> LogEntry:
        at = datetime(2026, 11, day, tzinfo=UTC)
        return LogEntry(
            at, name, "signalering", "ok", "o1", "", {"sluis.signal_id": "s1", **attributes}, "p1"
        )

    lines = [
        entry("signal.register", 1),
        entry("signal.client_reference", 2, change="set"),
        entry("signal.client_reference", 3, change="cleared"),
        entry("signal.delete", 4, reason="unjustified"),
    ]
    (history,) = signal_histories([], lines)
    assert [at.day for at in history.reference_changed_at] == [2, 3]
    assert (history.registered_at, history.end_reason) == (lines[0].at, "unjustified")
