"""Issue 16: the rights-requests register over REST, its whole lifecycle, with the injected
clock for deadlines and extensions. Back ends are the gRPC fakes; the rules are in rights.py."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from services.common.clock import FrozenClock
from services.gateway import rights
from services.gateway.app import create_app
from services.gateway.backends import Backends
from services.gateway.tests.conftest import close_app
from services.gateway.tests.test_api import BODY, BSN, assert_problem

OTHER_BSN = "111222333"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2027, 1, 31, 10, 0, tzinfo=UTC))


@pytest.fixture
def client(settings, demo, clock):
    application = create_app(settings, Backends.from_settings(settings), clock=clock)
    yield application.test_client()
    close_app(application)


@pytest.fixture
def app_db_rows(gateway_db):
    """Every row of every table of the gateway's database, as one text."""

    def dump() -> str:
        with psycopg.connect(gateway_db) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            ]
            return "\n".join(
                str(conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(t))).fetchall())
                for t in tables
            )

    return dump


@pytest.fixture
def region_admin(demo):
    key = next(a["apiKey"] for a in demo["admins"] if a["role"] == "regionAdmin")
    return {"Authorization": f"Bearer {key}"}


def new_request(client, headers, **fields):
    body = {"kind": "objection", "requester": "person", "receivedOn": "2027-01-31", "bsn": BSN, **fields}
    return client.post("/v1/rights-requests", json=body, headers=headers)


# -- rules (no network) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "months", "deadline"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
    ],
)
def test_deadline_is_counted_in_calendar_months(received: date, months: int, deadline: date) -> None:
    assert rights.add_months(received, months) == deadline


def test_only_what_concerns_the_person_may_be_named() -> None:
    assert rights.concerned_signals(None, ["a", "b"]) == ("a", "b")
    assert rights.concerned_signals(("b",), ["a", "b"]) == ("b",)
    with pytest.raises(Exception, match="hoort niet bij deze persoon"):
        rights.concerned_signals(("c",), ["a", "b"])


# -- the API ------------------------------------------------------------------------------


def test_objection_lifecycle_with_restriction_extension_and_upheld_decision(
    client, region_admin, auth, fakes, clock
) -> None:
    anna = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    carla = client.post("/v1/signals", json=BODY, headers=auth("carla")).get_json()

    resp = new_request(client, region_admin, caseReference="Z-2026-001", signalIds=[anna["id"]])
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert resp.headers["Location"] == f"/v1/rights-requests/{req['id']}"
    assert BSN not in resp.get_data(as_text=True)
    assert req["status"] == "received" and req["requester"] == "person"
    assert req["caseReference"] == "Z-2026-001"
    # One month from 31 January is the last day of February.
    assert req["deadline"] == req["originalDeadline"] == "2027-02-28"
    assert req["signalIds"] == [anna["id"]] and not req["overdue"]
    path = f"/v1/rights-requests/{req['id']}"

    # Restriction while the objection is assessed (art. 18(1)(d)): the signal stays, hidden.
    restricted = client.put(f"{path}/restriction", headers=region_admin).get_json()
    assert restricted["restriction"]["restricted"] and restricted["status"] == "inProgress"
    assert fakes.signal.signals[anna["id"]].restricted
    assert not fakes.signal.signals[carla["id"]].restricted

    # The deadline day itself is in time; the day after, the request is overdue.
    clock.set(datetime(2027, 2, 28, 12, 0, tzinfo=UTC))
    assert not client.get(path, headers=region_admin).get_json()["overdue"]
    extended = client.post(
        f"{path}/extend",
        json={"months": 1, "reason": "Complex: drie organisaties gehoord"},
        headers=region_admin,
    )
    assert extended.status_code == 200, extended.get_json()
    doc = extended.get_json()
    assert doc["status"] == "extended" and doc["deadline"] == "2027-03-31"
    assert doc["extension"] == {"months": 1, "reason": "Complex: drie organisaties gehoord"}
    # Two further months at most, in all.
    problem = assert_problem(
        client.post(f"{path}/extend", json={"months": 2, "reason": "nog meer"}, headers=region_admin),
        400,
        "extension_too_long",
    )
    assert problem["invalidParams"][0]["name"] == "months"

    clock.set(datetime(2027, 4, 1, 12, 0, tzinfo=UTC))
    assert client.get(path, headers=region_admin).get_json()["overdue"]
    overdue = client.get("/v1/rights-requests?overdue=true", headers=region_admin).get_json()
    assert [r["id"] for r in overdue["rightsRequests"]] == [req["id"]]
    assert (
        client.get("/v1/rights-requests?overdue=false", headers=region_admin).get_json()["rightsRequests"]
        == []
    )
    assert_problem(
        client.post(f"{path}/extend", json={"months": 1, "reason": "te laat"}, headers=region_admin),
        409,
        "deadline_passed",
    )

    decided = client.post(
        f"{path}/decide", json={"decision": "upheld", "reason": "Geen grondslag meer"}, headers=region_admin
    )
    assert decided.status_code == 200, decided.get_json()
    doc = decided.get_json()
    assert doc["status"] == "decided" and not doc["overdue"]
    assert doc["decision"]["decision"] == "upheld" and doc["decision"]["reason"] == "Geen grondslag meer"
    # The existing objection flow ran: the signal is erased and blocked; the register keeps
    # the objection id, not the erased signal id.
    assert fakes.signal.removed == [anna["id"]]
    assert doc["signalIds"] == [] and len(doc["objectionIds"]) == 1
    assert doc["objectionIds"][0] in fakes.signal.blocks
    assert not doc["restriction"]["restricted"]
    assert carla["id"] in fakes.signal.signals and not fakes.signal.signals[carla["id"]].restricted

    assert_problem(
        client.post(f"{path}/decide", json={"decision": "rejected", "reason": "x"}, headers=region_admin),
        409,
        "request_decided",
    )
    assert_problem(client.put(f"{path}/restriction", headers=region_admin), 409, "request_decided")
    decided_list = client.get("/v1/rights-requests?status=decided", headers=region_admin).get_json()
    assert [r["id"] for r in decided_list["rightsRequests"]] == [req["id"]]


def test_access_request_produces_the_document_and_never_stores_the_bsn(
    client, region_admin, auth, app_db_rows
) -> None:
    anna = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    client.post("/v1/signals", json=BODY, headers=auth("carla"))
    req = new_request(client, region_admin, kind="access", requester="legalRepresentative").get_json()
    assert len(req["signalIds"]) == 2 and anna["id"] in req["signalIds"]
    path = f"/v1/rights-requests/{req['id']}"
    assert req["_links"]["accessDocument"]["href"] == f"{path}/access-document"

    started = client.post(f"{path}/start", headers=region_admin).get_json()
    assert started["status"] == "inProgress"

    # The BSN is asked again to decide, and must be the request's person.
    assert_problem(
        client.post(
            f"{path}/decide", json={"decision": "upheld", "reason": "Verstrekt"}, headers=region_admin
        ),
        400,
        "missing_field",
    )
    client.post("/v1/signals", json={**BODY, "bsn": OTHER_BSN}, headers=auth("anna"))
    mismatch = client.post(
        f"{path}/decide",
        json={"decision": "upheld", "reason": "Verstrekt", "bsn": OTHER_BSN},
        headers=region_admin,
    )
    assert assert_problem(mismatch, 400, "bsn_mismatch")["invalidParams"][0]["name"] == "bsn"

    decided = client.post(
        f"{path}/decide", json={"decision": "upheld", "reason": "Verstrekt", "bsn": BSN}, headers=region_admin
    )
    assert decided.status_code == 200, decided.get_json()
    doc = decided.get_json()
    assert doc["status"] == "decided" and doc["decision"]["decision"] == "upheld"
    assert {s["organisation"]["name"] for s in doc["accessDocument"]["signals"]} == {
        "Wijkteam Noord",
        "Kredietbank",
    }
    assert BSN not in decided.get_data(as_text=True)

    again = client.post(f"{path}/access-document", json={"bsn": BSN}, headers=region_admin)
    assert again.status_code == 200 and len(again.get_json()["signals"]) == 2, again.get_json()

    # Nothing in the gateway's database holds the BSN.
    assert BSN not in app_db_rows()


def test_restriction_request_upheld_keeps_rejected_lifts(client, region_admin, auth, fakes) -> None:
    anna = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    upheld = new_request(client, region_admin, kind="restriction").get_json()
    client.put(f"/v1/rights-requests/{upheld['id']}/restriction", headers=region_admin)
    doc = client.post(
        f"/v1/rights-requests/{upheld['id']}/decide",
        json={"decision": "upheld", "reason": "Juistheid betwist"},
        headers=region_admin,
    ).get_json()
    assert doc["restriction"]["restricted"] and fakes.signal.signals[anna["id"]].restricted

    assert doc["signalIds"] == [anna["id"]]  # kept while the restriction is in force
    # Lifted later, after the decision: the signal ids are no longer kept.
    lifted = client.delete(f"/v1/rights-requests/{upheld['id']}/restriction", headers=region_admin)
    assert lifted.status_code == 200, lifted.get_json()
    assert not lifted.get_json()["restriction"]["restricted"] and lifted.get_json()["signalIds"] == []
    assert not fakes.signal.signals[anna["id"]].restricted

    other = new_request(client, region_admin, kind="restriction").get_json()
    client.put(f"/v1/rights-requests/{other['id']}/restriction", headers=region_admin)
    client.delete(f"/v1/rights-requests/{other['id']}/restriction", headers=region_admin)
    doc = client.post(
        f"/v1/rights-requests/{other['id']}/decide",
        json={"decision": "rejected", "reason": "Geen grond"},
        headers=region_admin,
    ).get_json()
    assert not doc["restriction"]["restricted"] and doc["decision"]["decision"] == "rejected"
    assert doc["signalIds"] == []


def test_every_action_on_a_request_is_in_the_persons_access_document(client, region_admin, auth) -> None:
    """Issue 13: each action on a rights request is a processing-log line about the person
    (the register keeps them sealed, never the BSN or pseudonym); the access document lists them."""
    client.post("/v1/signals", json=BODY, headers=auth("anna"))
    req = new_request(client, region_admin, kind="restriction").get_json()
    path = f"/v1/rights-requests/{req['id']}"
    assert client.post(f"{path}/start", headers=region_admin).status_code == 200
    assert client.post(
        f"{path}/extend", json={"months": 1, "reason": "Drie organisaties"}, headers=region_admin
    )
    assert client.put(f"{path}/restriction", headers=region_admin).status_code == 200
    assert client.delete(f"{path}/restriction", headers=region_admin).status_code == 200
    decided = client.post(
        f"{path}/decide", json={"decision": "rejected", "reason": "Geen grond"}, headers=region_admin
    )
    assert decided.status_code == 200, decided.get_json()
    body = {"bsn": BSN, "requester": "person", "caseReference": "Z-13-3"}
    doc = client.post("/v1/access-requests", json=body, headers=region_admin).get_json()
    assert [r["what"] for r in doc["rightsRequests"]] == [
        "verzoek om beperking van de verwerking ontvangen",
        "verzoek om beperking van de verwerking in behandeling genomen",
        "termijn van het verzoek om beperking van de verwerking verlengd",
        "verwerking beperkt (verzoek om beperking van de verwerking)",
        "beperking van de verwerking opgeheven (verzoek om beperking van de verwerking)",
        "besluit op het verzoek om beperking van de verwerking: afgewezen",
    ]
    assert doc["rightsRequests"][-1]["decision"] == "rejected"
    assert "Geen grond" not in str(doc) and "Drie organisaties" not in str(doc)  # no reasons' text


def test_refusals_are_problems_with_invalid_params(client, region_admin, auth) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "erasure"}, "kind"),
        ({"requester": "neighbour"}, "requester"),
        ({"receivedOn": "2027-02-01"}, "receivedOn"),  # in the future for the clock
        ({"receivedOn": "31-01-2026"}, "receivedOn"),
        ({"bsn": "12345"}, "bsn"),
        ({"signalIds": ["not-hers"]}, "signalIds[0]"),
    ]
    for fields, name in cases:
        doc = assert_problem(new_request(client, region_admin, **fields), 400)
        assert doc["invalidParams"][0]["name"] == name, (fields, doc)
    assert_problem(new_request(client, region_admin, bsn="123456789"), 400, "bsn_checksum")
    assert_problem(client.get("/v1/rights-requests?overdue=maybe", headers=region_admin), 400)
    assert_problem(client.get("/v1/rights-requests?status=open", headers=region_admin), 400)
    assert_problem(
        client.get("/v1/rights-requests/nonsense", headers=region_admin), 404, "rights_request_not_found"
    )
    unknown = "/v1/rights-requests/00000000-0000-0000-0000-000000000000"
    assert_problem(
        client.post(f"{unknown}/extend", json={}, headers=region_admin), 404, "rights_request_not_found"
    )
    # Region admins only.
    assert_problem(client.get("/v1/rights-requests", headers=auth("anna")), 403)
    assert_problem(new_request(client, auth("anna")), 403)


def test_list_is_oldest_first_with_decided_last(client, region_admin, clock) -> None:
    clock.advance(timedelta(days=40))
    first = new_request(client, region_admin, receivedOn="2027-01-05").get_json()
    second = new_request(client, region_admin, receivedOn="2027-02-20", kind="access").get_json()
    third = new_request(client, region_admin, receivedOn="2027-01-02", kind="restriction").get_json()
    client.post(
        f"/v1/rights-requests/{third['id']}/decide",
        json={"decision": "rejected", "reason": "x"},
        headers=region_admin,
    )
    listed = client.get("/v1/rights-requests", headers=region_admin).get_json()["rightsRequests"]
    assert [r["id"] for r in listed] == [first["id"], second["id"], third["id"]]
    assert [r["overdue"] for r in listed] == [True, False, False]
    access = client.get("/v1/rights-requests?kind=access", headers=region_admin).get_json()["rightsRequests"]
    assert [r["id"] for r in access] == [second["id"]]
    paged = client.get("/v1/rights-requests?pageSize=1&page=2", headers=region_admin).get_json()
    assert [r["id"] for r in paged["rightsRequests"]] == [second["id"]] and "next" in paged["_links"]


def test_decided_requests_are_purged_after_five_years_unless_still_restricted(gateway_db) -> None:
    from services.common.retention import purge_sync
    from services.gateway import retention
    from services.gateway.store import open_pool

    decided_at = datetime(2027, 3, 1, tzinfo=UTC)
    with psycopg.connect(gateway_db) as conn:
        for status, restricted, at in (
            ("decided", False, decided_at),
            ("decided", True, decided_at),
            ("received", False, None),
        ):
            conn.execute(
                "INSERT INTO rights_requests (id, region, kind, requester, received_on, status, decided_at,"
                " restricted, created_at) VALUES (gen_random_uuid(), 'test', 'restriction', 'person', '2027-01-31',"
                " %s, %s, %s, %s)",
                (status, at, restricted, decided_at),
            )
    pool = open_pool(gateway_db, max_size=2)
    try:
        soon = purge_sync(pool, "gateway", retention.RULES, decided_at + timedelta(days=365))
        assert soon["rights_requests"] == 0
        later = decided_at + retention.RIGHTS_REQUEST_RETENTION + timedelta(days=1)
        assert purge_sync(pool, "gateway", retention.RULES, later)["rights_requests"] == 1
    finally:
        pool.close()
