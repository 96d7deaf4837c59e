"""Issue 16, accounts and onboarding, through the Flask test client and the recording fakes:
invitation links (single use, expiry on an injected clock, no enumeration), recovery codes,
SluiS-wachters, admin reset, self-service, the organisation lifecycle (suspend, offboard),
may_not_coordinate and the rule preview, and the operator's create-region-admin command."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from services.common.clock import FrozenClock
from services.gateway import accounts as rules
from services.gateway import totp
from services.gateway.app import create_app
from services.gateway.backends import Backends
from services.gateway.tests.conftest import close_app
from services.gateway.tests.test_api import BODY, assert_problem
from services.gateway.tests.test_cli import env_for, run
from services.gateway.tests.test_web import NEW_PASSWORD, TOKEN, accept_link, csrf, found, login

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def region_admin(demo) -> dict[str, str]:
    key = next(a["apiKey"] for a in demo["admins"] if a["role"] == "regionAdmin")
    return {"Authorization": f"Bearer {key}"}


def org_id(demo: dict[str, Any], name: str) -> str:
    return next(p["organisationId"] for p in demo["professionals"] if p["organisation"].startswith(name))


def invite_wachter(client: Any, headers: dict[str, str], oid: str, email: str) -> dict[str, Any]:
    resp = client.post(
        f"/v1/organisations/{oid}/admins", json={"name": "Wil Wachter", "email": email}, headers=headers
    )
    assert resp.status_code == 201, resp.get_json()
    return dict(resp.get_json())


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


# -- passwords and recovery codes (plain rules) --------------------------------------------------


def test_password_rules() -> None:
    assert rules.check_password("kort", "kort") is not None
    assert rules.check_password(NEW_PASSWORD, NEW_PASSWORD + "x") is not None
    # Long enough but on zxcvbn's lists of common and leaked passwords:
    assert rules.check_password("password1234", "password1234") is not None
    assert rules.check_password("wachtwoord123", "wachtwoord123") is not None
    assert rules.check_password("jan.jansen2026", "jan.jansen2026", name="Jan Jansen") is not None
    assert rules.check_password(NEW_PASSWORD, NEW_PASSWORD) is None


def test_recovery_code_form() -> None:
    codes = rules.new_recovery_codes()
    assert len(set(codes)) == rules.RECOVERY_CODES
    assert all(rules.normalise_recovery_code(c.upper().replace("-", " ")) == c for c in codes)
    assert rules.normalise_recovery_code("123456") is None


# -- invitations ------------------------------------------------------------------------------


def test_a_wachter_is_invited_by_mail_and_the_link_works_once(client, app, fakes, region_admin, demo) -> None:
    oid = org_id(demo, "Kredietbank")
    doc = invite_wachter(client, region_admin, oid, "wil@kredietbank.example")
    assert doc["invitation"]["state"] == "open" and "/uitnodiging/" not in str(doc)
    mail = fakes.notify.account_mails[-1]
    assert mail.recipient_email == "wil@kredietbank.example" and mail.organisation_name == "Kredietbank"
    link = mail.link
    # Only a hash of the token is stored.
    token = link.rsplit("/", 1)[1]
    with psycopg.connect(app.extensions["sluis_gateway"].settings.database_url) as conn:
        hashes = [bytes(r[0]) for r in conn.execute("SELECT token_hash FROM invitations")]
    assert rules.hash_token(token) in hashes and token.encode() not in b"".join(hashes)

    wil = app.test_client()
    password, secret = accept_link(wil, link)
    login(wil, {"email": "wil@kredietbank.example", "password": password, "totpSecret": secret})
    assert wil.get("/beheer/professionals").status_code == 200
    listed = client.get(f"/v1/organisations/{oid}/admins", headers=region_admin).get_json()["admins"]
    assert (
        next(a for a in listed if a["email"] == "wil@kredietbank.example")["invitation"]["state"]
        == "accepted"
    )

    # Single use: the same link again answers exactly like an unknown one.
    again = app.test_client().get(path_of(link))
    unknown = app.test_client().get("/uitnodiging/" + rules.new_token())
    assert again.status_code == unknown.status_code == 404
    assert again.get_data(as_text=True) == unknown.get_data(as_text=True)
    # A POST with a used link changes nothing either.
    other = app.test_client()
    page = other.get("/inloggen").get_data(as_text=True)
    resp = other.post(
        path_of(link),
        data={
            "csrf_token": found(TOKEN.pattern, page),
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "code": "000000",
        },
    )
    assert resp.status_code == 404


def test_an_invitation_expires(settings, demo, fakes, region_admin) -> None:
    clock = FrozenClock(START)
    app = create_app(settings, Backends.from_settings(settings), clock=clock)
    try:
        client = app.test_client()
        invite_wachter(client, region_admin, org_id(demo, "Wijkteam"), "laat@wijkteam.example")
        link = fakes.notify.link_to("laat@wijkteam.example")
        assert client.get(path_of(link)).status_code == 200
        clock.advance(timedelta(hours=settings.invitation_hours) + timedelta(seconds=1))
        expired = client.get(path_of(link))
        unknown = client.get("/uitnodiging/" + rules.new_token())
        assert expired.status_code == 404
        assert expired.get_data(as_text=True) == unknown.get_data(as_text=True)
        doc = client.get(
            f"/v1/organisations/{org_id(demo, 'Wijkteam')}/admins", headers=region_admin
        ).get_json()
        laat = next(a for a in doc["admins"] if a["email"] == "laat@wijkteam.example")
        assert laat["invitation"]["state"] == "expired"
    finally:
        close_app(app)


def test_a_weak_password_or_wrong_code_keeps_the_link(client, app, fakes, region_admin, demo) -> None:
    invite_wachter(client, region_admin, org_id(demo, "Wijkteam"), "zwak@wijkteam.example")
    path = path_of(fakes.notify.link_to("zwak@wijkteam.example"))
    web = app.test_client()
    page = web.get(path).get_data(as_text=True)
    secret = found(r'id="totp-sleutel">([A-Z2-7]+)<', page)
    assert 'id="qr"' in page and "<svg" in page  # the QR code, inline
    weak = web.post(
        path,
        data={"csrf_token": found(TOKEN.pattern, page), "password": "welkom123456", "password2": "welkom123456",
              "code": totp.code_at(secret, time.time())},
    )  # fmt: skip
    assert weak.status_code == 400 and 'id="fout-password"' in weak.get_data(as_text=True)
    wrong = web.post(
        path,
        data={"csrf_token": found(TOKEN.pattern, page), "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
              "code": "000000"},
    )  # fmt: skip
    assert wrong.status_code == 400 and 'id="fout-code"' in wrong.get_data(as_text=True)
    # Still usable, with the same secret (the QR code does not change under the person's feet).
    assert secret in web.get(path).get_data(as_text=True)


def test_recovery_codes_work_once_at_login(client, app, fakes, region_admin, demo) -> None:
    invite_wachter(client, region_admin, org_id(demo, "Wijkteam"), "herstel@wijkteam.example")
    web = app.test_client()
    path = path_of(fakes.notify.link_to("herstel@wijkteam.example"))
    page = web.get(path).get_data(as_text=True)
    secret = found(r'id="totp-sleutel">([A-Z2-7]+)<', page)
    done = web.post(
        path,
        data={"csrf_token": found(TOKEN.pattern, page), "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
              "code": totp.code_at(secret, time.time())},
    ).get_data(as_text=True)  # fmt: skip
    code = found(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done)

    def with_recovery(typed: str) -> int:
        c = app.test_client()
        c.post(
            "/inloggen",
            data={"csrf_token": csrf(c), "email": "herstel@wijkteam.example", "password": NEW_PASSWORD},
        )
        return int(
            c.post(
                "/inloggen/code", data={"csrf_token": csrf(c, "/inloggen/code"), "recovery": typed}
            ).status_code
        )

    assert with_recovery(code.upper()) == 302
    assert with_recovery(code) == 401  # used


def test_no_enumeration_on_the_account_pages(client, app, fakes, demo) -> None:
    anna = next(p for p in demo["professionals"] if p["name"].startswith("Anna"))
    login(client, anna)
    answers = []
    for email in ("carla@kredietbank.test.sluis.example", "niemand-nog@wijkteam.example"):
        taken = email.startswith("carla")
        if taken:
            email = next(p["email"] for p in demo["professionals"] if p["name"].startswith("Carla"))
        resp = client.post("/account/e-mail", data={"csrf_token": csrf(client, "/account"), "email": email})
        answers.append((resp.status_code, resp.headers.get("Location")))
        page = client.get("/account").get_data(as_text=True)
        assert "Als dit adres gebruikt kan worden" in page
    assert answers[0] == answers[1]
    # Only the free address got a confirmation link; following it changes the login address.
    links = [m for m in fakes.notify.account_mails if m.link]
    assert [m.recipient_email for m in links] == ["niemand-nog@wijkteam.example"]
    assert app.test_client().get(path_of(links[0].link)).status_code == 200
    assert app.test_client().get(path_of(links[0].link)).status_code == 404
    assert client.get("/account").get_data(as_text=True).count("niemand-nog@wijkteam.example") == 1


def test_self_service_password_change_needs_the_current_one(client, app, fakes, demo) -> None:
    anna = next(p for p in demo["professionals"] if p["name"].startswith("Anna"))
    login(client, anna)
    other = app.test_client()
    login(other, anna)
    form = {
        "csrf_token": csrf(client, "/account"),
        "current": "fout",
        "password": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    assert client.post("/account/wachtwoord", data=form).status_code == 400
    form["current"] = "demo-wachtwoord-2026"
    assert client.post("/account/wachtwoord", data=form).status_code == 302
    assert client.get("/signalen").status_code == 200  # this session stays
    assert other.get("/signalen").status_code == 303  # every other one ends
    assert fakes.notify.account_mails[-1].recipient_email == anna["email"]  # told by mail


# -- professionals get an invitation; admin reset ---------------------------------------------------


def test_every_professional_created_over_the_api_is_invited(client, fakes, demo) -> None:
    admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
    h = {"Authorization": f"Bearer {admin['apiKey']}"}
    oid = admin["organisationId"]
    resp = client.post(
        f"/v1/organisations/{oid}/professionals",
        json={"name": "Piet", "email": "piet@wijkteam.example"},
        headers=h,
    )
    assert resp.status_code == 201
    assert fakes.notify.link_to("piet@wijkteam.example").startswith("http")
    pid = resp.get_json()["id"]
    reset = client.post(f"/v1/organisations/{oid}/professionals/{pid}/reset-login", headers=h)
    assert reset.status_code == 200 and reset.get_json()["invitation"]["purpose"] == "reset"
    assert len([m for m in fakes.notify.account_mails if m.recipient_email == "piet@wijkteam.example"]) == 2


# -- organisation lifecycle ---------------------------------------------------------------------


def test_suspended_organisation_registers_no_new_signals(client, auth, region_admin, demo) -> None:
    oid = org_id(demo, "Wijkteam")
    first = client.post("/v1/signals", json=BODY, headers=auth("anna"))
    assert first.status_code == 201
    org = client.post(f"/v1/organisations/{oid}/suspend", headers=region_admin)
    assert org.status_code == 200 and org.get_json()["status"] == "suspended"
    other = {**BODY, "bsn": "111222333"}
    assert_problem(
        client.post("/v1/signals", json=other, headers=auth("bram")), 409, "organisation_suspended"
    )
    # What it has stays visible.
    assert client.get(f"/v1/signals/{first.get_json()['id']}", headers=auth("anna")).status_code == 200
    assert (
        client.post(f"/v1/organisations/{oid}/reactivate", headers=region_admin).get_json()["status"]
        == "active"
    )
    assert client.post("/v1/signals", json=other, headers=auth("bram")).status_code == 201


def test_offboarding_transfers_or_ends_every_signal(client, auth, region_admin, demo, fakes) -> None:
    oid = org_id(demo, "Wijkteam")
    client.post("/v1/signals", json=BODY, headers=auth("anna"))
    carla = next(p for p in demo["professionals"] if p["name"].startswith("Carla"))
    bad = client.post(
        f"/v1/organisations/{oid}/offboard",
        json={"transferToProfessionalId": demo["professionals"][1]["id"]},
        headers=region_admin,
    )
    assert_problem(bad, 400, "transfer_target_invalid")  # a colleague of the same organisation
    resp = client.post(
        f"/v1/organisations/{oid}/offboard",
        json={"transferToProfessionalId": carla["id"]},
        headers=region_admin,
    )
    assert resp.status_code == 200, resp.get_json()
    doc = resp.get_json()
    assert doc["organisation"]["status"] == "offboarded" and doc["transferred"] == 1
    # Its people can no longer act.
    assert client.get("/v1/signals", headers=auth("anna")).status_code == 403
    audit = client.application.extensions["sluis_gateway"].store.audit_entries()
    assert "organisation.offboard" in {e["action"] for e in audit}


# -- coordinator rules -----------------------------------------------------------------------------


def test_preview_refuses_an_organisation_that_may_not_coordinate(client, region_admin, demo, fakes) -> None:
    police = org_id(demo, "Politie")
    body = {"organisationPriority": [police], "domainPriority": []}
    assert_problem(
        client.post("/v1/coordinator-rules/preview", json=body, headers=region_admin),
        400,
        "may_not_coordinate",
    )
    ok = {"organisationPriority": [org_id(demo, "Kredietbank")], "domainPriority": ["debt"]}
    preview = client.post("/v1/coordinator-rules/preview", json=ok, headers=region_admin).get_json()
    assert preview == {"openMatches": 3, "changed": 1, "organisations": []}
    client.put("/v1/coordinator-rules", json=ok, headers=region_admin)
    client.put("/v1/coordinator-rules", json={**ok, "domainPriority": []}, headers=region_admin)
    versions = client.get("/v1/coordinator-rules/versions", headers=region_admin).get_json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]


# -- the operator's command ------------------------------------------------------------------------


def test_create_region_admin_prints_a_one_time_link(new_database) -> None:
    url = new_database("gwfirst")
    env = env_for(url, SLUIS_PORTAL_URL="https://sluis.regio.example")
    assert run(["migrate"], env).returncode == 0
    out = run(["create-region-admin", "--email", "Regio@Gemeente.example", "--name", "Rita Regio"], env)
    assert out.returncode == 0, out.stderr
    assert "https://sluis.regio.example/uitnodiging/" in out.stdout
    again = run(["create-region-admin", "--email", "regio@gemeente.example", "--name", "Rita"], env)
    assert again.returncode == 1 and "al in gebruik" in again.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT role, email FROM admins").fetchall() == [
            ("regionAdmin", "regio@gemeente.example")
        ]
