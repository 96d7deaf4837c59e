"""Issue 2: bad input answers precisely (RFC 9457), never a 500, and writes nothing."""

from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql

from tests.helpers import BSNS, Api, by_org, wait_until

BACKEND_DATABASES = ("signal", "match", "notify")


def row_counts(platform) -> dict[str, int]:
    counts: dict[str, int] = {}
    for service in BACKEND_DATABASES:
        with psycopg.connect(platform.database_urls[service]) as conn:
            tables = [r[0] for r in conn.execute("SELECT relname FROM pg_stat_user_tables")]
            for table in tables:
                # The outbox drains in the background; what it held is counted where it lands.
                if table in ("schema_migrations", "outbox"):
                    continue
                counts[f"{service}.{table}"] = conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                ).fetchone()[0]
    return counts


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    doc = response.json()
    assert doc["status"] == status and doc["title"] and doc["detail"]
    return doc


@pytest.fixture
def api(platform, professionals) -> Api:
    return Api(platform.url, professionals[0]["apiKey"])


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "bsn": BSNS[2],
        "birthDate": "1990-04-12",
        "multiProblemAttested": True,
        "consentGiven": True,
        "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("body", "status", "must_mention"),
    [
        (valid_body(bsn="123456789"), 400, "elfproef"),
        (valid_body(bsn="12345"), 400, "9 cijfers"),
        (valid_body(birthDate="2999-01-01"), 400, "birthDate"),
        (valid_body(birthDate="12-04-1990"), 400, "birthDate"),
        ({k: v for k, v in valid_body().items() if k != "bsn"}, 400, "bsn"),
        ({k: v for k, v in valid_body().items() if k != "birthDate"}, 400, "birthDate"),
        (valid_body(bsn=123456782), 400, "bsn"),
    ],
)
def test_invalid_signal_is_refused_and_nothing_is_written(platform, api, body, status, must_mention) -> None:
    before = row_counts(platform)
    doc = assert_problem(api.post("/v1/signals", body), status)
    assert must_mention.lower() in (doc["detail"] + str(doc.get("invalidParams", ""))).lower()
    assert str(body.get("bsn")) not in doc["detail"]
    assert row_counts(platform) == before


def test_malformed_json(platform, api) -> None:
    before = row_counts(platform)
    response = api.session.post(
        platform.url + "/v1/signals",
        data=b'{"bsn": ',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert_problem(response, 400)
    assert row_counts(platform) == before


def test_unknown_credential_is_401(platform) -> None:
    before = row_counts(platform)
    response = Api(platform.url, "no-such-key").post("/v1/signals", valid_body())
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers
    assert_problem(requests.post(platform.url + "/v1/signals", json=valid_body(), timeout=10), 401)
    assert row_counts(platform) == before


def test_duplicate_active_signal_is_409_with_pointer(platform, professionals) -> None:
    api = Api(platform.url, by_org(professionals)[professionals[-1]["organisation"]][0]["apiKey"])
    first = api.signal(BSNS[3])
    assert first.status_code == 201
    # Let the accepted signal's own effects land in match before counting.
    wait_until(lambda: api.get(f"/v1/signals/{first.json()['id']}/involvement").status_code == 200)
    before = row_counts(platform)
    doc = assert_problem(api.signal(BSNS[3]), 409)
    assert first.json()["id"] in str(doc)
    assert row_counts(platform) == before


def test_unknown_signal_and_route(platform, api) -> None:
    assert_problem(api.get("/v1/signals/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(api.get("/v1/signals/not-a-uuid"), 404)
    assert_problem(api.get("/v1/no-such-thing"), 404)
    assert_problem(api.get("/v1/signals/"), 404)
