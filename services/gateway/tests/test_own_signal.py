"""Issue 17: the professional's own signal and own reference, over HTTP (Flask test client)
against the recording gRPC fakes: clientReference, ownSignal on matches and inbox items,
GET /v1/matches?signalId=, the system-key hint, invalidParams on every 400, and the portal
(which client, job title and coordinator apart, inbox dates, the deep link through login)."""

import re
import time
import uuid
from typing import Any

import pytest

from services.common import clientref
from services.common.errors import InvalidArgument
from services.gateway import auth as roles
from services.gateway import domain, errors, totp
from services.gateway.tests.test_api import BODY
from services.gateway.tests.test_authorisation import callers, fill, routes  # noqa: F401 - fixture
from services.gateway.tests.test_web import PASSWORD, csrf, found, login, person

BIRTH = "2010-05-01"
# Three clients of the same birth date (valid BSNs) and their case numbers at Wijkteam Noord.
CLIENTS = {"123456782": "WT-2026/001", "111222333": "WT-2026/002", "999999990": "WT-2026/003"}


def signal(client: Any, auth: Any, who: str, bsn: str, **extra: Any) -> Any:
    return client.post(
        "/v1/signals", json={**BODY, "bsn": bsn, "birthDate": BIRTH, **extra}, headers=auth(who)
    )


def matched(client: Any, auth: Any) -> dict[str, str]:
    """Anna signals three clients with her own references, Carla (another organisation) the
    same three people: three matches. Returns Anna's signal id per reference."""
    ids = {}
    for bsn, ref in CLIENTS.items():
        resp = signal(client, auth, "anna", bsn, clientReference=ref)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        ids[ref] = resp.get_json()["id"]
        assert signal(client, auth, "carla", bsn).status_code == 201
        # The fake match service forms the match on the first involvement look-up.
        assert client.get(f"/v1/signals/{ids[ref]}/involvement", headers=auth("anna")).status_code == 200
    return ids


def test_client_reference_is_stored_with_the_signal_and_changed_by_its_owner(client, auth, fakes) -> None:
    resp = signal(client, auth, "anna", "123456782", clientReference="  2026-0042/b ")
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["clientReference"] == "2026-0042/b"
    assert fakes.signal.requests[-1].client_reference == "2026-0042/b"
    sid = doc["id"]
    assert (
        client.get(f"/v1/signals/{sid}", headers=auth("anna")).get_json()["clientReference"] == "2026-0042/b"
    )
    listed = client.get("/v1/signals", headers=auth("anna")).get_json()["signals"]
    assert [s["clientReference"] for s in listed] == ["2026-0042/b"]

    changed = client.patch(f"/v1/signals/{sid}", json={"clientReference": "ZAAK 7.1_a"}, headers=auth("anna"))
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["clientReference"] == "ZAAK 7.1_a"
    cleared = client.patch(f"/v1/signals/{sid}", json={"clientReference": ""}, headers=auth("anna"))
    assert cleared.get_json()["clientReference"] is None
    # Without a reference the field is there, null.
    assert signal(client, auth, "anna", "111222333").get_json()["clientReference"] is None

    # Somebody else's signal, an unknown one and a malformed id: the one 404.
    unknown = client.patch(f"/v1/signals/{uuid.uuid4()}", json={"clientReference": "x"}, headers=auth("anna"))
    theirs = client.patch(f"/v1/signals/{sid}", json={"clientReference": "x"}, headers=auth("carla"))
    odd = client.patch("/v1/signals/niet-een-id", json={"clientReference": "x"}, headers=auth("anna"))
    assert unknown.status_code == theirs.status_code == odd.status_code == 404
    assert unknown.get_json()["detail"] == theirs.get_json()["detail"] == odd.get_json()["detail"]


@pytest.mark.parametrize(
    "value",
    [
        "x" * 41,  # too long
        "Jan <b>Jansen</b>",  # not the alphabet
        "dossier: zorgen over geld",  # free text
        "123456782",  # a BSN
        "dossier 111222333",  # a BSN inside
        "regel\ntwee",
        42,
    ],
)
def test_a_client_reference_outside_the_rule_is_400_naming_the_field(client, auth, value) -> None:
    for resp in (
        signal(client, auth, "anna", "123456782", clientReference=value),
        client.patch(
            f"/v1/signals/{signal(client, auth, 'bram', '999999990').get_json()['id']}",
            json={"clientReference": value},
            headers=auth("bram"),
        ),
    ):
        assert resp.status_code == 400, resp.get_data(as_text=True)
        doc = resp.get_json()
        assert doc["invalidParams"][0]["name"] == "clientReference", doc
        if isinstance(value, str) and len(value) > 3:
            assert value not in resp.get_data(as_text=True)


def test_the_reference_rule() -> None:
    assert clientref.normalise(" A-1/2._ b ") == "A-1/2._ b"
    assert clientref.normalise("   ") == ""
    assert clientref.normalise("1234567890") == "1234567890"  # ten digits: not a BSN
    assert clientref.normalise("123456789") == "123456789"  # fails the eleven-test
    for bad in ("x" * 41, "é", "a;b", "123456782", "K-111222333"):
        with pytest.raises(InvalidArgument):
            clientref.normalise(bad)


def test_every_match_names_the_callers_own_signal_and_signal_id_filters(client, auth) -> None:
    ids = matched(client, auth)
    mine = client.get("/v1/matches", headers=auth("anna")).get_json()["matches"]
    assert len(mine) == 3
    by_ref = {m["ownSignal"]["clientReference"]: m for m in mine}
    assert set(by_ref) == set(CLIENTS.values())
    for ref, m in by_ref.items():
        assert m["ownSignal"]["id"] == ids[ref] and m["ownSignal"]["birthDate"] == BIRTH
        one = client.get(f"/v1/matches/{m['id']}", headers=auth("anna")).get_json()
        assert one["ownSignal"]["clientReference"] == ref
        filtered = client.get(f"/v1/matches?signalId={ids[ref]}", headers=auth("anna"))
        assert filtered.status_code == 200, filtered.get_json()
        assert [x["id"] for x in filtered.get_json()["matches"]] == [m["id"]]

    # Carla sees her own signals in the same matches, never Anna's reference.
    theirs = client.get("/v1/matches", headers=auth("carla"))
    assert {m["ownSignal"]["clientReference"] for m in theirs.get_json()["matches"]} == {None}
    assert not any(ref in theirs.get_data(as_text=True) for ref in CLIENTS.values())

    # An own signal without a match: an empty list. Unknown, another's, malformed: the one 404.
    alone = signal(client, auth, "anna", "100000009").get_json()["id"]
    assert client.get(f"/v1/matches?signalId={alone}", headers=auth("anna")).get_json()["matches"] == []
    answers = [
        client.get(f"/v1/matches?signalId={sid}", headers=auth("carla"))
        for sid in (ids["WT-2026/001"], str(uuid.uuid4()), "niet-een-id")
    ]
    unknown_signal = client.get(f"/v1/signals/{uuid.uuid4()}", headers=auth("carla")).get_json()
    for resp in answers:
        assert resp.status_code == 404 and resp.get_json()["code"] == "signal_not_found"
        assert resp.get_json()["detail"] == unknown_signal["detail"]


def test_inbox_items_name_the_callers_own_signal(client, auth, demo, fakes) -> None:
    ids = matched(client, auth)
    match = client.get(f"/v1/matches?signalId={ids['WT-2026/002']}", headers=auth("anna")).get_json()
    match_id = match["matches"][0]["id"]
    anna = person(demo, roles.PROFESSIONAL)
    item = fakes.notify.add(anna["id"])
    item.match_id = match_id
    other = fakes.notify.add(anna["id"])  # about a match this fake never made: no own signal
    doc = client.get("/v1/inbox", headers=auth("anna")).get_json()
    by_id = {i["id"]: i for i in doc["items"]}
    assert by_id[item.item_id]["ownSignal"]["clientReference"] == "WT-2026/002"
    assert by_id[item.item_id]["ownSignal"]["birthDate"] == BIRTH
    assert by_id[other.item_id]["ownSignal"] is None
    read = client.post(f"/v1/inbox/{item.item_id}/read", json={}, headers=auth("anna")).get_json()
    assert read["ownSignal"]["id"] == ids["WT-2026/002"]


def test_a_system_key_without_professional_header_is_told_what_is_missing(client, app, demo) -> None:
    store = app.extensions["sluis_gateway"].store
    key = domain.new_api_key()
    org = next(p for p in demo["professionals"] if p["organisation"] == "Wijkteam Noord")["organisationId"]
    store.add_credential(
        key_hash=domain.hash_api_key(key),
        kind="system",
        region="test",
        organisation_id=uuid.UUID(org),
        name="zaaksysteem",
        scopes=list(domain.CREDENTIAL_SCOPES),
    )
    resp = client.get("/v1/matches", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    doc = resp.get_json()
    assert doc["code"] == "role_not_allowed"
    assert "X-Professional-Id" in doc["detail"] and doc["missingHeader"] == "X-Professional-Id"


def test_every_400_names_what_was_wrong(client, auth) -> None:
    """Walk the ways to get a 400 from the professional's endpoints: each one has invalidParams."""
    sid = signal(client, auth, "anna", "123456782").get_json()["id"]
    h = auth("anna")
    attempts = [
        client.post("/v1/signals", data=b"{", headers={**h, "Content-Type": "application/json"}),
        client.post("/v1/signals", json=[], headers=h),
        client.post("/v1/signals", json={**BODY, "extra": 1}, headers=h),
        client.post("/v1/signals", json={**BODY, "bsn": "12"}, headers=h),
        client.post("/v1/signals", json={**BODY, "birthDate": "2999-01-01"}, headers=h),
        client.post("/v1/signals", json={**BODY, "informed": {"party": "x"}}, headers=h),
        client.post("/v1/signals?x=1", json=BODY, headers=h),
        client.get("/v1/signals?status=weg", headers=h),
        client.get("/v1/matches?pageSize=0", headers=h),
        client.get("/v1/inbox?unreadOnly=misschien", headers=h),
        client.post(f"/v1/signals/{sid}/end", json={"reason": "zomaar"}, headers=h),
        client.post(f"/v1/signals/{sid}/informed", json={}, headers=h),
        client.patch(f"/v1/signals/{sid}", json={}, headers=h),
        client.post(f"/v1/signals/{sid}/renew", json={"x": 1}, headers=h),
    ]
    for resp in attempts:
        assert resp.status_code == 400, resp.get_data(as_text=True)
        params = resp.get_json().get("invalidParams")
        assert params and params[0]["name"] and params[0]["reason"], resp.get_json()


def test_back_end_rules_name_their_field() -> None:
    """A back end names the rule, the gateway the field (issue 17: informed_on_before_birth)."""
    rule = InvalidArgument("informed_on_before_birth", "De datum van informeren ligt vóór de geboortedatum.")
    assert errors.decide(rule).extra == {
        "invalidParams": [{"name": "informed.informedOn", "reason": rule.detail}]
    }
    other = errors.decide(InvalidArgument("something_new", "Iets."))
    assert other.extra == {"invalidParams": [{"name": "body", "reason": "Iets."}]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/matches/0b6c1f1e-8f0e-4d5e-9a51-1b8f7b3b2c1d", "/matches/0b6c1f1e-8f0e-4d5e-9a51-1b8f7b3b2c1d"),
        ("/inbox?page=2", "/inbox?page=2"),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("javascript:alert(1)", None),
        ("matches", None),
        ("/inloggen", None),
        ("/matches/\nSet-Cookie:x", None),
        ("", None),
        (None, None),
    ],
)
def test_only_same_site_paths_are_returned_to_after_login(value, expected) -> None:
    assert domain.safe_next(value) == expected


# -- the portal ---------------------------------------------------------------------------------


def test_portal_tells_the_clients_apart(app, client, auth, demo, fakes) -> None:
    ids = matched(client, auth)
    anna = app.test_client()
    login(anna, person(demo, roles.PROFESSIONAL))
    listing = anna.get("/matches").get_data(as_text=True)
    for ref in CLIENTS.values():
        assert f"Uw cliënt: {ref}, geboren 01-05-2010" in listing
    match_id = client.get(f"/v1/matches?signalId={ids['WT-2026/003']}", headers=auth("anna")).get_json()[
        "matches"
    ][0]["id"]
    page = anna.get(f"/matches/{match_id}").get_data(as_text=True)
    assert "Uw cliënt: WT-2026/003, geboren 01-05-2010" in page
    assert "WT-2026/001" not in page and "WT-2026/002" not in page
    # Job title and coordinator apart: the coordinator's job title stays visible.
    assert '<th scope="col">Functie</th><th scope="col">Matchregisseur</th>' in page
    assert re.search(r"<td>wijkteammedewerker</td>\s*<td>Ja</td>", page), page
    assert re.search(r"<td>schuldhulpverlener</td>\s*<td>—</td>", page)

    signals_page = anna.get("/signalen").get_data(as_text=True)
    for ref in CLIENTS.values():
        assert f"Uw cliënt: {ref}, geboren 01-05-2010" in signals_page

    # The reference is edited on the signal page.
    sid = ids["WT-2026/001"]
    token = csrf(anna, f"/signalen/{sid}")
    resp = anna.post(
        f"/signalen/{sid}/kenmerk", data={"csrf_token": token, "clientReference": "WT-2026/001b"}
    )
    assert resp.status_code == 302
    assert "Uw cliënt: WT-2026/001b" in anna.get(f"/signalen/{sid}").get_data(as_text=True)
    bad = anna.post(f"/signalen/{sid}/kenmerk", data={"csrf_token": token, "clientReference": "<script>"})
    assert bad.status_code == 400 and "Het eigen kenmerk mag maximaal 40 tekens" in bad.get_data(as_text=True)

    # Carla's portal never shows Anna's references.
    carla = app.test_client()
    login(carla, next(p for p in demo["professionals"] if p["organisation"] == "Kredietbank"))
    for path in ("/matches", f"/matches/{match_id}", "/signalen", "/inbox", "/"):
        assert not any(ref in carla.get(path).get_data(as_text=True) for ref in CLIENTS.values()), path

    # The inbox shows the date and the client.
    item = fakes.notify.add(person(demo, roles.PROFESSIONAL)["id"])
    item.match_id = match_id
    inbox = anna.get("/inbox").get_data(as_text=True)
    assert "Uw cliënt: WT-2026/003, geboren 01-05-2010" in inbox
    assert re.search(r'<time datetime="[0-9T:.Z-]+">\d\d-\d\d-\d{4} \d\d:\d\d</time>', inbox)


def test_form_values_come_back_after_a_refusal_the_reference_too(app, demo) -> None:
    anna = app.test_client()
    login(anna, person(demo, roles.PROFESSIONAL))
    data = {
        "csrf_token": csrf(anna, "/signalen/nieuw"),
        "bsn": "123456782",
        "birthDate": "2999-01-01",
        "clientReference": "WT-9",
        "party": "person",
        "method": "inPerson",
        "informedOn": "2026-01-05",
    }
    body = anna.post("/signalen/nieuw", data=data).get_data(as_text=True)
    assert 'value="WT-9"' in body and 'value="123456782"' in body
    bad = anna.post("/signalen/nieuw", data={**data, "birthDate": "2010-01-01", "clientReference": "a;b"})
    assert bad.status_code == 400 and 'id="fout-clientReference"' in bad.get_data(as_text=True)


def test_the_mail_link_survives_the_login(app, demo) -> None:
    browser = app.test_client()
    target = f"/matches/{uuid.uuid4()}"
    first = browser.get(target)
    assert first.status_code == 303
    login_url = first.headers["Location"]
    assert login_url.startswith("/inloggen?next=")
    page = browser.get(login_url).get_data(as_text=True)
    assert f'name="next" value="{target}"' in page
    who = person(demo, roles.PROFESSIONAL)
    resp = browser.post(
        "/inloggen",
        data={
            "csrf_token": csrf(browser, login_url),
            "email": who["email"],
            "password": PASSWORD,
            "next": target,
        },
    )
    assert resp.status_code == 302
    token = csrf(browser, "/inloggen/code")
    for at in (time.time(), time.time() + 30):
        resp = browser.post(
            "/inloggen/code", data={"csrf_token": token, "code": totp.code_at(who["totpSecret"], at)}
        )
        if resp.status_code == 302:
            break
    assert resp.headers["Location"] == target
    # Another site is never where a login ends.
    evil = app.test_client()
    page = evil.get("/inloggen?next=//evil.example/x").get_data(as_text=True)
    assert "evil.example" not in page
    assert found(r'name="csrf_token" value="([^"]+)"', page)


def test_every_route_answers_400_with_invalid_params(client, callers) -> None:  # noqa: F811 - fixture
    """Walk every /v1 route as every role that may call it, with an unknown query parameter
    and with an empty or wrong body: each 400 names what was wrong (issue 17)."""
    seen = 0
    for rule, method in routes(client.application):
        allowed = roles.MATRIX[rule.endpoint]
        for role in sorted(allowed) or ["anonymous"]:
            if role not in callers["keys"]:
                continue
            headers = {"Authorization": f"Bearer {callers['keys'][role]}"}
            path = fill(rule, callers["ids"])
            attempts = [client.open(path + "?onbekend=1", method=method, headers=headers)]
            if method in ("POST", "PUT", "PATCH"):
                attempts += [
                    client.open(path, method=method, headers=headers, json={}),
                    client.open(path, method=method, headers=headers, json=[1]),
                ]
            for resp in attempts:
                if resp.status_code != 400:
                    continue
                seen += 1
                doc = resp.get_json()
                assert doc.get("invalidParams"), f"{method} {rule.rule} as {role}: {doc}"
    assert seen >= 40
