"""Regression tests for the outside test's findings on the gateway (issue 14): odd input is
a 400/413/415 problem+json naming the field, never a 500, and nothing is written."""

import io
import json

import pytest
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from services.gateway.tests.test_api import BODY, assert_problem


def post_raw(client, auth, path: str, data: bytes, **headers: str):
    return client.post(path, data=data, headers={**auth("anna"), **headers})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birthDate": "\ud800"}, "birthDate"),
        ({"informed": {"party": "person", "method": "phone", "informedOn": "\udfff"}}, "informed.informedOn"),
        ({"bsn": "\ud800"}, "bsn"),
    ],
)
def test_lone_surrogate_is_400_naming_the_field(client, auth, fakes, change, field) -> None:
    raw = json.dumps({**BODY, **change}).encode()  # ensure_ascii: "\\ud800" escapes
    doc = assert_problem(
        post_raw(client, auth, "/v1/signals", raw, **{"Content-Type": "application/json"}), 400
    )
    assert doc["invalidParams"][0]["name"] == field
    assert not fakes.signal.signals


def test_lone_surrogate_in_admin_bodies(client, demo) -> None:
    admin = next(a for a in demo["admins"] if a["role"] == "regionAdmin")
    headers = {"Authorization": f"Bearer {admin['apiKey']}", "Content-Type": "application/json"}
    body = {"name": "\ud800", "legalBasis": "consent", "domains": [], "mayCoordinate": False}
    doc = assert_problem(client.post("/v1/organisations", data=json.dumps(body), headers=headers), 400)
    assert doc["invalidParams"][0]["name"] == "name"


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"bsn": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_deeply_nested_json_is_400(client, auth, fakes, raw) -> None:
    resp = post_raw(client, auth, "/v1/signals", raw, **{"Content-Type": "application/json"})
    assert_problem(resp, 400)
    assert not fakes.signal.signals


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_json_endpoints_need_a_json_content_type(client, auth, fakes, content_type) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = post_raw(client, auth, "/v1/signals", json.dumps(BODY).encode(), **headers)
    assert_problem(resp, 415, "unsupported_media_type")
    assert not fakes.signal.signals


@pytest.mark.parametrize("size", [1024 * 1024 + 10, 3 * 1024 * 1024])
def test_chunked_body_over_the_limit_is_413(app, auth, fakes, size) -> None:
    big = json.dumps({**BODY, "pad": "x" * size}).encode()
    # As gunicorn serves a chunked body: no Content-Length, and the server ends the input.
    sent = Headers(auth("anna"))
    sent.update({"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    environ = EnvironBuilder(
        path="/v1/signals", method="POST", input_stream=io.BytesIO(big), headers=sent
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    _body, status, answer = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    assert status.startswith("413"), status
    assert answer["Content-Type"].startswith("application/problem+json")
    assert not fakes.signal.signals


@pytest.mark.parametrize("bsn", [" 123456782", "123456782 ", "123456782\n", "１２３４５６７８２", "12345678"])
def test_bsn_is_exactly_nine_ascii_digits(client, auth, fakes, bsn) -> None:
    resp = client.post("/v1/signals", json={**BODY, "bsn": bsn}, headers=auth("anna"))
    doc = assert_problem(resp, 400)
    assert doc["code"] in ("bsn_format", "invalid_field") and doc["invalidParams"][0]["name"] == "bsn"
    assert not fakes.signal.signals


@pytest.mark.parametrize("when", ["2024-W01-1", "20240101", "2024-001", "2024-01-01T00:00", "２０２４-01-01"])
def test_dates_are_iso_calendar_dates_only(client, auth, fakes, when) -> None:
    body = {**BODY, "informed": {"party": "person", "method": "phone", "informedOn": when}}
    doc = assert_problem(client.post("/v1/signals", json=body, headers=auth("anna")), 400)
    assert doc["invalidParams"][0]["name"] == "informed.informedOn"
    assert not fakes.signal.signals


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "a@@example.org"}, "email"),
        ({"email": '"a"@example.org'}, "email"),
        ({"email": "a@example"}, "email"),
        ({"phone": "bel me"}, "phone"),
        ({"phone": "06'1234"}, "phone"),
    ],
)
def test_professional_email_and_phone_are_validated(client, demo, change, field) -> None:
    admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
    headers = {"Authorization": f"Bearer {admin['apiKey']}"}
    base = f"/v1/organisations/{admin['organisationId']}/professionals"
    before = len(client.get(base, headers=headers).get_json()["professionals"])
    body = {"name": "Nieuw", "email": "nieuw@wijkteam.nl", "phone": "010-1234567", **change}
    doc = assert_problem(client.post(base, json=body, headers=headers), 400)
    assert doc["invalidParams"][0]["name"] == field
    assert len(client.get(base, headers=headers).get_json()["professionals"]) == before
