"""Admin endpoints: organisations, professionals, API credentials, regional rules, citizens' rights."""

import pytest

from services.gateway.tests.test_api import BODY, assert_problem


@pytest.fixture
def region_admin(demo):
    key = next(a["apiKey"] for a in demo["admins"] if a["role"] == "regionAdmin")
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def org_admin(demo):
    admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
    return {"Authorization": f"Bearer {admin['apiKey']}"}, admin["organisationId"]


def test_region_admin_onboards_an_organisation(client, region_admin) -> None:
    body = {
        "name": "GGD",
        "legalBasis": "legalGround",
        "legalGround": "Wpg art. 5",
        "domains": ["care"],
        "mayCoordinate": True,
    }
    resp = client.post("/v1/organisations", json=body, headers=region_admin)
    assert resp.status_code == 201, resp.get_json()
    org = resp.get_json()
    assert resp.headers["Location"] == f"/v1/organisations/{org['id']}"
    assert org["legalGround"] == "Wpg art. 5" and org["domains"] == ["care"]
    assert_problem(
        client.post("/v1/organisations", json=body, headers=region_admin), 400, "organisation_exists"
    )
    no_ground = {**body, "name": "X", "legalGround": ""}
    assert_problem(
        client.post("/v1/organisations", json=no_ground, headers=region_admin), 400, "missing_field"
    )
    bad_domain = {**body, "name": "Y", "domains": ["cooking"]}
    doc = assert_problem(client.post("/v1/organisations", json=bad_domain, headers=region_admin), 400)
    assert doc["invalidParams"][0]["name"] == "domains[0]"
    patched = client.patch(
        f"/v1/organisations/{org['id']}", json={"mayCoordinate": False}, headers=region_admin
    )
    assert patched.status_code == 200 and patched.get_json()["mayCoordinate"] is False
    assert_problem(client.patch(f"/v1/organisations/{org['id']}", json={}, headers=region_admin), 400)


def test_org_admin_manages_professionals(client, org_admin, fakes) -> None:
    h, oid = org_admin
    base = f"/v1/organisations/{oid}/professionals"
    resp = client.post(
        base, json={"name": "Gijs", "email": "Gijs@Wijkteam.nl", "role": "jeugdwerker"}, headers=h
    )
    assert resp.status_code == 201, resp.get_json()
    pro = resp.get_json()
    assert pro["email"] == "gijs@wijkteam.nl" and pro["active"]
    assert_problem(
        client.post(base, json={"name": "G2", "email": "gijs@wijkteam.nl"}, headers=h), 409, "email_taken"
    )
    assert_problem(client.post(base, json={"name": "G3", "email": "nope"}, headers=h), 400)
    listed = client.get(base, headers=h).get_json()["professionals"]
    assert pro["id"] in [p["id"] for p in listed]
    changed = client.patch(f"{base}/{pro['id']}", json={"phone": "06-1"}, headers=h)
    assert changed.get_json()["phone"] == "06-1"


def test_api_credentials_create_use_rotate_revoke(client, org_admin, demo) -> None:
    h, oid = org_admin
    base = f"/v1/organisations/{oid}/api-credentials"
    created = client.post(base, json={"name": "zaaksysteem"}, headers=h)
    assert created.status_code == 201
    cred = created.get_json()
    key = cred["apiKey"]
    assert (
        key.startswith("sluis_") and cred["scopes"] == ["bulkLoads", "signals"] and cred["lastUsedAt"] is None
    )
    # The secret is shown once: never in a listing.
    listing = client.get(base, headers=h)
    assert key not in listing.get_data(as_text=True)
    anna = next(p for p in demo["professionals"] if p["organisationId"] == oid)
    system = {"Authorization": f"Bearer {key}", "X-Professional-Id": anna["id"]}
    assert client.post("/v1/signals", json=BODY, headers=system).status_code == 201
    used = next(c for c in client.get(base, headers=h).get_json()["apiCredentials"] if c["id"] == cred["id"])
    assert used["lastUsedAt"] is not None

    rotated = client.post(f"{base}/{cred['id']}/rotate", json={"graceSeconds": 0}, headers=h)
    assert rotated.status_code == 201
    new_key = rotated.get_json()["apiKey"]
    assert new_key != key
    assert client.get("/v1/signals", headers=system).status_code == 401  # grace 0: old key is gone
    new_system = {**system, "Authorization": f"Bearer {new_key}"}
    assert client.get("/v1/signals", headers=new_system).status_code == 200

    new_id = rotated.get_json()["id"]
    revoked = client.post(f"{base}/{new_id}/revoke", headers=h)
    assert revoked.status_code == 200 and revoked.get_json()["revokedAt"]
    assert client.get("/v1/signals", headers=new_system).status_code == 401
    assert_problem(client.post(f"{base}/{new_id}/rotate", headers=h), 409, "credential_revoked")
    assert_problem(client.post(base, json={"name": "x", "scopes": ["everything"]}, headers=h), 400)


def test_rotation_with_grace_keeps_the_old_key_working(client, org_admin, demo) -> None:
    h, oid = org_admin
    base = f"/v1/organisations/{oid}/api-credentials"
    cred = client.post(base, json={"name": "zaaksysteem"}, headers=h).get_json()
    client.post(f"{base}/{cred['id']}/rotate", headers=h)
    anna = next(p for p in demo["professionals"] if p["organisationId"] == oid)
    old = {"Authorization": f"Bearer {cred['apiKey']}", "X-Professional-Id": anna["id"]}
    assert client.get("/v1/signals", headers=old).status_code == 200


def test_coordinator_rules(client, region_admin, demo, fakes) -> None:
    # Only organisations that may coordinate (issue 16: the police may not, see below).
    orgs = [
        p["organisationId"] for p in demo["professionals"] if not p["organisation"].startswith("Politie")
    ][::2]
    body = {"organisationPriority": orgs, "domainPriority": ["care", "debt"]}
    resp = client.put("/v1/coordinator-rules", json=body, headers=region_admin)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["version"] == 1 and resp.get_json()["organisationPriority"] == orgs
    assert client.get("/v1/coordinator-rules", headers=region_admin).get_json()["domainPriority"] == [
        "care",
        "debt",
    ]
    unknown = {"organisationPriority": ["00000000-0000-0000-0000-000000000001"], "domainPriority": []}
    assert_problem(
        client.put("/v1/coordinator-rules", json=unknown, headers=region_admin), 400, "unknown_organisation"
    )
    police = next(
        p["organisationId"] for p in demo["professionals"] if p["organisation"].startswith("Politie")
    )
    refused = {"organisationPriority": [*orgs, police], "domainPriority": []}
    assert_problem(
        client.put("/v1/coordinator-rules", json=refused, headers=region_admin), 400, "may_not_coordinate"
    )


def test_access_request_and_objection(client, region_admin, auth, app) -> None:
    anna = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    client.post("/v1/signals", json=BODY, headers=auth("carla"))
    client.get(f"/v1/signals/{anna['id']}/involvement", headers=auth("anna"))
    request = {"bsn": BODY["bsn"], "requester": "person", "caseReference": "Z-2026-17"}
    resp = client.post("/v1/access-requests", json=request, headers=region_admin)
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["request"]["requester"] == "person" and doc["request"]["caseReference"] == "Z-2026-17"
    assert {s["organisation"]["name"] for s in doc["signals"]} == {"Wijkteam Noord", "Kredietbank"}
    assert len(doc["matches"]) == 1 and doc["matches"][0]["organisations"] == [
        "Kredietbank",
        "Wijkteam Noord",
    ]
    assert doc["disclosures"] and doc["disclosures"][0]["channel"] == "api"
    # The request itself is logged (the gateway's own line) and shown as the municipality's look-up.
    assert [x["what"] for x in doc["municipalityLookUps"]] == ["inzageverzoek"]
    assert BODY["bsn"] not in resp.get_data(as_text=True)
    html = client.post("/v1/access-requests", json=request, headers={**region_admin, "Accept": "text/html"})
    assert html.status_code == 200 and html.mimetype == "text/html"
    page = html.get_data(as_text=True)
    assert (
        "Overzicht van uw gegevens in SluiS" in page and "Wijkteam Noord" in page and BODY["bsn"] not in page
    )
    assert_problem(
        client.post("/v1/access-requests", json={**request, "bsn": "123456789"}, headers=region_admin),
        400,
        "bsn_checksum",
    )
    assert (
        client.post("/v1/access-requests", json={"bsn": BODY["bsn"]}, headers=region_admin).status_code == 400
    )
    # A NUL in the case reference (found by `make fuzz`): 400, not a 500 from PostgreSQL.
    assert_problem(
        client.post(
            "/v1/access-requests", json={**request, "caseReference": "zaak\u0000-1"}, headers=region_admin
        ),
        400,
        "invalid_case_reference",
    )

    upheld = client.post(
        "/v1/objections", json={"signalId": anna["id"], "decision": "upheld"}, headers=region_admin
    )
    assert upheld.status_code == 201
    assert client.get(f"/v1/signals/{anna['id']}", headers=auth("anna")).status_code == 404
    again = client.post(
        "/v1/objections", json={"signalId": anna["id"], "decision": "upheld"}, headers=region_admin
    )
    assert_problem(again, 404, "signal_not_found")
    actions = [e["action"] for e in app.extensions["sluis_gateway"].store.audit_entries()]
    assert "access_request" in actions and "objection.uphold" in actions
    # Issue 12: the block of the upheld objection is lifted once by a region admin.
    block = upheld.get_json()["_links"]["block"]["href"]
    assert block.endswith(f"/v1/objections/{upheld.get_json()['objectionId']}/block")
    assert client.delete(block, headers=auth("anna")).status_code == 403
    assert client.delete(block, headers=region_admin).status_code == 204
    assert_problem(client.delete(block, headers=region_admin), 404, "objection_not_found")


def test_profile_changes_take_effect(client, auth, region_admin, org_admin, fakes) -> None:
    """Issue 22: losing mayCoordinate reaches signal and match (match hands the role on); a
    change of legal basis flags the active signals for the organisation admin, who confirms or
    ends each one."""
    h, oid = org_admin
    mine = [client.post("/v1/signals", json=BODY, headers=auth(who)).get_json() for who in ("anna",)]
    assert (
        client.patch(
            f"/v1/organisations/{oid}", json={"mayCoordinate": False}, headers=region_admin
        ).status_code
        == 200
    )
    assert fakes.match.profile_changes == [(oid, False)] and fakes.signal.may_coordinate == {oid: False}
    # The same value again changes nothing downstream.
    client.patch(f"/v1/organisations/{oid}", json={"mayCoordinate": False}, headers=region_admin)
    assert fakes.match.profile_changes == [(oid, False)]
    assert client.get(f"/v1/organisations/{oid}/signal-reviews", headers=h).get_json() == {
        "signalReviews": []
    }
    changed = client.patch(
        f"/v1/organisations/{oid}",
        json={"legalBasis": "legalGround", "legalGround": "Jeugdwet art. 7.1.4.1"},
        headers=region_admin,
    )
    assert changed.status_code == 200
    listed = client.get(f"/v1/organisations/{oid}/signal-reviews", headers=h).get_json()["signalReviews"]
    assert [r["signal"]["id"] for r in listed] == [s["id"] for s in mine]
    assert "Grondslag gewijzigd van toestemming naar wettelijke grondslag" in listed[0]["reason"]
    signal_id = mine[0]["id"]
    # Another organisation's admin, and a professional, cannot see or answer the review.
    other = next(a for a in fakes_admins(client, region_admin) if a != oid)
    assert_problem(client.get(f"/v1/organisations/{other}/signal-reviews", headers=h), 404)
    assert client.get(f"/v1/organisations/{oid}/signal-reviews", headers=auth("anna")).status_code == 403
    ended = client.post(f"/v1/organisations/{oid}/signal-reviews/{signal_id}/end", headers=h)
    assert ended.status_code == 200 and ended.get_json()["status"] == "archived"
    assert_problem(client.post(f"/v1/organisations/{oid}/signal-reviews/{signal_id}/confirm", headers=h), 404)
    assert client.get(f"/v1/organisations/{oid}/signal-reviews", headers=h).get_json() == {
        "signalReviews": []
    }


def fakes_admins(client, region_admin) -> list[str]:
    return [
        o["id"] for o in client.get("/v1/organisations", headers=region_admin).get_json()["organisations"]
    ]
