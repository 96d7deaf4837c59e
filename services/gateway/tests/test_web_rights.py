"""Issue 16: the portal's rights-requests pages (Rechtenverzoeken) with the Flask test client
and the gRPC fakes: register, refusals next to the field without echoing the BSN, the
actions, and the access document as a printable page."""

import re
from typing import Any

import pytest

from services.gateway import auth
from services.gateway.tests.test_api import BODY, BSN
from services.gateway.tests.test_web import csrf, login, person


@pytest.fixture
def region(app, demo):
    web = app.test_client()
    login(web, person(demo, auth.REGION_ADMIN))
    return web


def register(client: Any, **fields: str) -> Any:
    data = {
        "csrf_token": csrf(client, "/beheer/rechtenverzoeken"),
        "kind": "access",
        "requester": "legalRepresentative",
        "caseReference": "INZ-1",
        "receivedOn": "2026-01-05",
        "bsn": BSN,
        **fields,
    }
    return client.post("/beheer/rechtenverzoeken", data=data)


def test_region_admin_registers_and_handles_an_access_request(region, client, auth) -> None:
    client.post("/v1/signals", json=BODY, headers=auth("anna"))
    home = region.get("/").get_data(as_text=True)
    assert "Rechtenverzoeken" in home

    resp = register(region)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    detail_path = resp.headers["Location"]
    page = region.get(detail_path).get_data(as_text=True)
    assert "Inzage (art. 15)" in page and "INZ-1" in page and BSN not in page
    # Received in January: the month has long passed, so the list highlights it.
    listed = region.get("/beheer/rechtenverzoeken").get_data(as_text=True)
    assert 'class="overdue"' in listed and "Termijn verstreken" in listed
    overdue_only = region.get("/beheer/rechtenverzoeken?overdue=true").get_data(as_text=True)
    assert "INZ-1" in overdue_only

    token = csrf(region, detail_path)
    shown = region.post(
        f"{detail_path}/besluiten",
        data={"csrf_token": token, "decision": "upheld", "reason": "Verstrekt", "bsn": BSN},
    )
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "Inzagedocument SluiS" in text and "Wijkteam Noord" in text and BSN not in text

    again = region.post(f"{detail_path}/inzagedocument", data={"csrf_token": token, "bsn": BSN})
    assert again.status_code == 200 and "Inzagedocument SluiS" in again.get_data(as_text=True)


def test_refusals_are_shown_next_to_the_field_without_the_bsn(region) -> None:
    resp = register(region, bsn="123456789")
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert ("123456789" not in text and 'id="fout-bsn"' in text) or "alert" in text
    resp = register(region, receivedOn="2099-01-01")
    assert resp.status_code == 400 and 'id="fout-receivedOn"' in resp.get_data(as_text=True)


def test_extend_restrict_and_decide_an_objection(region, client, auth, fakes) -> None:
    signal = client.post("/v1/signals", json=BODY, headers=auth("anna")).get_json()
    detail_path = register(region, kind="objection", receivedOn=_today(region)).headers["Location"]
    token = csrf(region, detail_path)
    region.post(f"{detail_path}/beperken", data={"csrf_token": token})
    assert fakes.signal.signals[signal["id"]].restricted
    region.post(f"{detail_path}/verlengen", data={"csrf_token": token, "months": "2", "reason": "Complex"})
    page = region.get(detail_path).get_data(as_text=True)
    assert "Verlengd tot" in page and "Complex" in page
    refused = region.post(f"{detail_path}/besluiten", data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 400 and 'id="fout-decision"' in refused.get_data(as_text=True)
    region.post(
        f"{detail_path}/besluiten", data={"csrf_token": token, "decision": "upheld", "reason": "Gegrond"}
    )
    assert fakes.signal.removed == [signal["id"]]
    assert "Besloten" in region.get(detail_path).get_data(as_text=True)


def _today(client: Any) -> str:
    page = client.get("/beheer/rechtenverzoeken").get_data(as_text=True)
    return re.search(r'id="receivedOn"[^>]*value="([0-9-]+)"', page).group(1)  # type: ignore[union-attr]
