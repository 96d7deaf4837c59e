"""The authorisation matrix: every endpoint x every role (and anonymous), plus
cross-organisation, cross-region and acting-for attempts."""

import re
import uuid

import pytest

from services.gateway import auth, domain
from services.gateway.store import GatewayStore

ROLES = (*auth.ROLES, "anonymous")


@pytest.fixture
def callers(app, demo, gateway_db):
    """An API key per role, and ids to put in paths."""
    store: GatewayStore = app.extensions["sluis_gateway"].store
    wijkteam = next(p for p in demo["professionals"] if p["organisation"] == "Wijkteam Noord")
    org_id = uuid.UUID(wijkteam["organisationId"])
    keys = {
        auth.PROFESSIONAL: wijkteam["apiKey"],
        auth.ORGANISATION_ADMIN: next(
            a["apiKey"] for a in demo["admins"] if a["organisationId"] == str(org_id)
        ),
        auth.REGION_ADMIN: next(a["apiKey"] for a in demo["admins"] if a["role"] == "regionAdmin"),
    }
    system_key = domain.new_api_key()
    store.add_credential(
        key_hash=domain.hash_api_key(system_key),
        kind="system",
        region="test",
        organisation_id=org_id,
        name="zaaksysteem",
        scopes=list(domain.CREDENTIAL_SCOPES),
    )
    keys[auth.ORGANISATION_SYSTEM] = system_key
    victim = store.add_credential(
        key_hash=domain.hash_api_key(domain.new_api_key()),
        kind="system",
        region="test",
        organisation_id=org_id,
    )
    operator = store.upsert_admin(
        role="operator", region="test", organisation_id=None, name="Operator", email="op@x.nl"
    )
    keys[auth.OPERATOR] = domain.new_api_key()
    store.add_credential(
        key_hash=domain.hash_api_key(keys[auth.OPERATOR]), kind="admin", region="test", admin_id=operator.id
    )
    ids = {
        "organisation_id": str(org_id),
        "professional_id": wijkteam["id"],
        "credential_id": str(victim.id),
    }
    return {"keys": keys, "ids": ids, "store": store, "demo": demo}


def routes(app):
    out = []
    for rule in app.url_map.iter_rules():
        # The portal's pages (web.*) log in with a session: tests/test_web_authorisation.py.
        if rule.endpoint == "static" or rule.endpoint.startswith("web."):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def fill(rule, ids):
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: ids.get(m.group(1), str(uuid.uuid4())), rule.rule)


def test_every_endpoint_is_in_the_matrix(app) -> None:
    endpoints = {rule.endpoint for rule, _ in routes(app)}
    api = {e for e in auth.MATRIX if not e.startswith("web.")}
    assert endpoints == api, "every route needs a line in auth.MATRIX (and no stale lines)"


@pytest.mark.parametrize("role", ROLES)
def test_matrix_every_endpoint_for_role(client, callers, role) -> None:
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {callers['keys'][role]}"}
    if role == auth.ORGANISATION_SYSTEM:
        headers_for_professional = {**headers, "X-Professional-Id": callers["ids"]["professional_id"]}
    checked = 0
    for rule, method in routes(client.application):
        allowed = auth.MATRIX[rule.endpoint]
        path = fill(rule, callers["ids"])
        kwargs: dict = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        resp = client.open(path, method=method, headers=headers, **kwargs)
        where = f"{method} {rule.rule} as {role}: {resp.status_code} {resp.get_data(as_text=True)[:200]}"
        assert resp.status_code < 500, where
        assert resp.headers["API-Version"] == "1.0.0", where
        if not allowed:
            assert resp.status_code not in (401, 403), where
        elif role == "anonymous":
            assert resp.status_code == 401, where
            assert resp.mimetype == "application/problem+json"
        elif role in allowed:
            assert resp.status_code not in (401, 403), where
        else:
            assert resp.status_code == 403, where
            assert resp.get_json()["code"] == "role_not_allowed", where
        # A system acting for one of its professionals has exactly the professional's rights.
        if role == auth.ORGANISATION_SYSTEM:
            acting = client.open(path, method=method, headers=headers_for_professional, **kwargs)
            if allowed and auth.PROFESSIONAL in allowed:
                assert acting.status_code not in (401, 403), f"acting: {where}"
            elif allowed:
                assert acting.status_code == 403, f"acting: {where}"
        checked += 1
    assert checked >= 30


def test_organisation_admin_cannot_reach_another_organisation(client, callers) -> None:
    other = next(p for p in callers["demo"]["professionals"] if p["organisation"] == "Kredietbank")
    key = callers["keys"][auth.ORGANISATION_ADMIN]
    h = {"Authorization": f"Bearer {key}"}
    oid, pid = other["organisationId"], other["id"]
    for method, path in [
        ("GET", f"/v1/organisations/{oid}"),
        ("GET", f"/v1/organisations/{oid}/professionals"),
        ("POST", f"/v1/organisations/{oid}/professionals"),
        ("GET", f"/v1/organisations/{oid}/professionals/{pid}"),
        ("PATCH", f"/v1/organisations/{oid}/professionals/{pid}"),
        ("GET", f"/v1/organisations/{oid}/api-credentials"),
        ("POST", f"/v1/organisations/{oid}/api-credentials"),
    ]:
        resp = client.open(path, method=method, headers=h, json={"name": "x", "email": "x@y.nl"})
        assert resp.status_code == 404, (method, path, resp.get_json())
        assert resp.get_json()["code"] == "organisation_not_found"
    # Own organisation, but another organisation's professional: unknown.
    own = callers["ids"]["organisation_id"]
    resp = client.get(f"/v1/organisations/{own}/professionals/{pid}", headers=h)
    assert resp.status_code == 404
    # The listing shows only the own organisation.
    orgs = client.get("/v1/organisations", headers=h).get_json()["organisations"]
    assert [o["id"] for o in orgs] == [own]


def test_cross_region(client, callers, gateway_db) -> None:
    store = callers["store"]
    other = store.upsert_organisation(
        region="elders",
        name="Elders",
        legal_basis="consent",
        legal_ground="",
        domains=["care"],
        may_coordinate=True,
    )
    pro = store.upsert_professional(
        organisation_id=other.id, name="X", role="", phone="", email="x@elders.nl"
    )
    key = domain.new_api_key()
    store.add_credential(
        key_hash=domain.hash_api_key(key), kind="professional", region="elders", professional_id=pro.id
    )
    # A key of another region is unknown here.
    resp = client.get("/v1/signals", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 401
    # This region's admin does not see the other region's organisation.
    h = {"Authorization": f"Bearer {callers['keys'][auth.REGION_ADMIN]}"}
    assert client.get(f"/v1/organisations/{other.id}", headers=h).status_code == 404
    assert str(other.id) not in client.get("/v1/organisations", headers=h).get_data(as_text=True)


def test_system_may_act_only_for_its_own_professionals(client, callers) -> None:
    system = {"Authorization": f"Bearer {callers['keys'][auth.ORGANISATION_SYSTEM]}"}
    other = next(p for p in callers["demo"]["professionals"] if p["organisation"] == "Kredietbank")
    for acting_for in (other["id"], str(uuid.uuid4()), "garbage"):
        resp = client.get("/v1/signals", headers={**system, "X-Professional-Id": acting_for})
        assert resp.status_code == 403 and resp.get_json()["code"] == "acting_for_unknown"
    # Without X-Professional-Id a system is not a professional.
    assert client.get("/v1/signals", headers=system).status_code == 403
    # A professional's own key cannot act for somebody else.
    pro = {"Authorization": f"Bearer {callers['keys'][auth.PROFESSIONAL]}", "X-Professional-Id": other["id"]}
    assert client.get("/v1/signals", headers=pro).get_json()["code"] == "acting_not_allowed"


def test_scopes_limit_a_system_credential(client, callers) -> None:
    store = callers["store"]
    key = domain.new_api_key()
    store.add_credential(
        key_hash=domain.hash_api_key(key),
        kind="system",
        region="test",
        organisation_id=uuid.UUID(callers["ids"]["organisation_id"]),
        scopes=["bulkLoads"],
    )
    h = {"Authorization": f"Bearer {key}", "X-Professional-Id": callers["ids"]["professional_id"]}
    resp = client.get("/v1/signals", headers=h)
    assert resp.status_code == 403 and resp.get_json()["code"] == "scope_missing"


def test_deactivated_professional_is_refused(client, callers) -> None:
    admin = {"Authorization": f"Bearer {callers['keys'][auth.ORGANISATION_ADMIN]}"}
    oid, pid = callers["ids"]["organisation_id"], callers["ids"]["professional_id"]
    resp = client.patch(f"/v1/organisations/{oid}/professionals/{pid}", json={"active": False}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    refused = client.get(
        "/v1/signals", headers={"Authorization": f"Bearer {callers['keys'][auth.PROFESSIONAL]}"}
    )
    assert refused.status_code == 403 and refused.get_json()["code"] == "professional_inactive"
