"""Issue 12: professionals who leave (transfer or end before deactivation), renewal, a death."""

from services.gateway.tests.test_admin import org_admin, region_admin  # noqa: F401 (fixtures)
from services.gateway.tests.test_api import BODY, assert_problem


def _pro(demo, name: str) -> dict:
    return next(p for p in demo["professionals"] if p["name"].startswith(name))


def test_deactivation_needs_a_transfer_first(client, org_admin, auth, demo, fakes) -> None:  # noqa: F811
    h, oid = org_admin
    anna, bram, carla = _pro(demo, "Anna"), _pro(demo, "Bram"), _pro(demo, "Carla")
    created = client.post("/v1/signals", json=BODY, headers=auth("anna"))
    assert created.status_code == 201
    base = f"/v1/organisations/{oid}/professionals"
    assert_problem(
        client.patch(f"{base}/{anna['id']}", json={"active": False}, headers=h),
        409,
        "professional_has_active_signals",
    )
    # Only an active colleague of the same organisation, not oneself or another organisation.
    for target in (anna["id"], carla["id"], "00000000-0000-0000-0000-000000000000"):
        assert_problem(
            client.post(f"{base}/{anna['id']}/transfer", json={"toProfessionalId": target}, headers=h),
            400,
            "transfer_target_invalid",
        )
    moved = client.post(f"{base}/{anna['id']}/transfer", json={"toProfessionalId": bram["id"]}, headers=h)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["transferred"] == 1
    signal = client.get(f"/v1/signals/{created.get_json()['id']}", headers=auth("bram"))
    assert signal.status_code == 200
    assert signal.get_json()["registeredAt"] == created.get_json()["registeredAt"]  # dates kept
    off = client.patch(f"{base}/{anna['id']}", json={"active": False}, headers=h)
    assert off.status_code == 200 and off.get_json()["active"] is False
    # A professional cannot do this for themselves.
    assert client.post(
        f"{base}/{bram['id']}/transfer", json={"toProfessionalId": anna["id"]}, headers=auth("bram")
    ).status_code in (403, 404)


def test_renewal_takes_a_new_attestation(client, auth) -> None:
    created = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    url = f"/v1/signals/{created['id']}/renew"
    renewed = client.post(
        url, json={"multiProblemAttested": True, "consentGiven": True}, headers=auth("anna")
    )
    assert renewed.status_code == 200, renewed.get_json()
    assert renewed.get_json()["multiProblemAttested"] is True and renewed.get_json()["consentGiven"] is True
    # Nothing carried over: without a body the renewal states no attestation.
    assert client.post(url, headers=auth("anna")).get_json()["multiProblemAttested"] is False
    assert_problem(client.post(url, json={"multiProblemAttested": "ja"}, headers=auth("anna")), 400)
    assert_problem(client.post(url, json={"reason": "x"}, headers=auth("anna")), 400, "unknown_field")


def test_ending_all_signals_of_a_leaver_then_deactivating(client, org_admin, auth, demo) -> None:  # noqa: F811
    h, oid = org_admin
    anna = _pro(demo, "Anna")
    created = client.post("/v1/signals", json=BODY, headers=auth("anna"))
    assert created.status_code == 201
    url = f"/v1/organisations/{oid}/professionals/{anna['id']}"
    assert client.post(f"{url}/end-signals", headers=auth("anna")).status_code in (403, 404)
    done = client.post(f"{url}/end-signals", headers=h)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["ended"] == 1
    assert (
        client.get(f"/v1/signals/{created.get_json()['id']}", headers=auth("anna")).get_json()["endReason"]
        == "other"
    )
    assert client.patch(url, json={"active": False}, headers=h).status_code == 200


def test_a_region_admin_records_a_death(client, auth, app, region_admin) -> None:  # noqa: F811
    created = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    headers, bsn = region_admin, str(BODY["bsn"])
    assert client.post("/v1/deaths", json={"bsn": BODY["bsn"]}, headers=auth("anna")).status_code == 403
    recorded = client.post("/v1/deaths", json={"bsn": BODY["bsn"]}, headers=headers)
    assert recorded.status_code == 200, recorded.get_json()
    assert recorded.get_json()["ended"] == 1
    assert bsn not in recorded.get_data(as_text=True)
    signal = client.get(f"/v1/signals/{created['id']}", headers=auth("anna")).get_json()
    assert signal["status"] == "archived" and signal["endReason"] == "deceased"
    assert_problem(client.post("/v1/deaths", json={"bsn": "123456789"}, headers=headers), 400, "bsn_checksum")
    actions = [
        e for e in app.extensions["sluis_gateway"].store.audit_entries() if e["action"] == "death.record"
    ]
    assert actions and bsn not in str(actions)
