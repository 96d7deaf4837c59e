"""Portal sessions on the server (issue 14): logout, "log out everywhere" and a login reset
revoke every copy of a session cookie; unknown accounts lock out exactly like known ones; one
source address is throttled across accounts; the cookie is Secure whenever https was used."""

import re

import pytest

from services.gateway import auth
from services.gateway.app import create_app
from services.gateway.backends import Backends
from services.gateway.tests.conftest import close_app, replace
from services.gateway.tests.test_web import PASSWORD, csrf, login, person


@pytest.fixture
def web(app):
    return app.test_client()


def copy_of(app, client):
    """A second browser holding a copy of the same session cookie (as a thief would)."""
    other = app.test_client()
    other.set_cookie("sluis_sessie", client.get_cookie("sluis_sessie").value)
    return other


def test_logout_revokes_the_session_on_the_server(app, web, demo) -> None:
    login(web, person(demo, auth.PROFESSIONAL))
    stolen = copy_of(app, web)
    assert stolen.get("/signalen").status_code == 200
    assert web.post("/uitloggen", data={"csrf_token": csrf(web, "/")}).status_code == 302
    assert stolen.get("/signalen").status_code == 303
    assert stolen.get("/matches").status_code == 303


def test_log_out_everywhere_ends_every_session_of_the_person(app, demo) -> None:
    who = person(demo, auth.PROFESSIONAL)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, who)
    login(phone, who)
    assert "Overal uitloggen" in laptop.get("/").get_data(as_text=True)
    assert laptop.post("/uitloggen/overal", data={"csrf_token": csrf(laptop, "/")}).status_code == 302
    assert laptop.get("/signalen").status_code == 303
    assert phone.get("/signalen").status_code == 303


def test_a_login_reset_ends_the_persons_sessions(app, demo) -> None:
    who = person(demo, auth.PROFESSIONAL)
    professional, admin = app.test_client(), app.test_client()
    login(professional, who)
    login(admin, person(demo, auth.ORGANISATION_ADMIN))
    assert professional.get("/signalen").status_code == 200
    resp = admin.post(
        f"/beheer/professionals/{who['id']}/tweede-factor",
        data={"csrf_token": csrf(admin, "/beheer/professionals")},
    )
    assert resp.status_code == 302
    assert professional.get("/signalen").status_code == 303
    assert admin.get("/beheer/professionals").status_code == 200


def _try(web, email: str, password: str):
    return web.post("/inloggen", data={"csrf_token": csrf(web), "email": email, "password": password})


def test_unknown_accounts_lock_out_exactly_like_known_ones(web, demo) -> None:
    known = person(demo, auth.PROFESSIONAL)["email"]
    answers = {}
    for email in (known, "niemand@wijkteam.nl"):
        answers[email] = [
            (r.status_code, r.get_data(as_text=True)) for r in (_try(web, email, "fout") for _ in range(6))
        ]
    assert (
        [s for s, _ in answers[known]] == [s for s, _ in answers["niemand@wijkteam.nl"]] == [401] * 5 + [429]
    )
    assert "15 minuten geblokkeerd" in answers["niemand@wijkteam.nl"][-1][1]
    page = [
        re.sub(r'value="[^"]*"', "", text)
        for _, text in (answers[known][-1], answers["niemand@wijkteam.nl"][-1])
    ]
    assert page[0] == page[1]


def test_one_source_is_throttled_across_accounts(web, demo) -> None:
    for i in range(20):
        assert _try(web, f"gok{i}@wijkteam.nl", "fout").status_code == 401
    who = person(demo, auth.PROFESSIONAL)
    assert _try(web, who["email"], who.get("password", PASSWORD)).status_code == 429
    # Another source address is not affected.
    other = web.application.test_client()
    resp = other.post(
        "/inloggen",
        data={"csrf_token": csrf(other), "email": who["email"], "password": who.get("password", PASSWORD)},
        environ_overrides={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert resp.status_code == 302


def _cookie(resp) -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("sluis_sessie="))


@pytest.mark.parametrize(
    ("trusted", "base_url", "headers", "secure"),
    [
        (0, "http://localhost", {}, False),
        (0, "https://localhost", {}, True),
        (0, "http://localhost", {"X-Forwarded-Proto": "https"}, False),
        (1, "http://localhost", {"X-Forwarded-Proto": "https"}, True),
    ],
)
def test_session_cookie_is_secure_whenever_https_was_used(
    settings, demo, trusted, base_url, headers, secure
) -> None:
    local = replace(settings, http_listen="127.0.0.1:8080", trusted_proxies=trusted)
    app = create_app(local, Backends.from_settings(local))
    try:
        resp = app.test_client().get("/inloggen", base_url=base_url, headers=headers)
        assert ("; Secure" in _cookie(resp)) is secure
    finally:
        close_app(app)
