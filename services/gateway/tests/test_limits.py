"""Idempotency-Key on POST, per-credential rate limits (in-process and Redis), size limits."""

import hashlib
import hmac
import json

import pytest

from services.common import processing_log
from services.gateway import domain
from services.gateway.app import create_app
from services.gateway.backends import Backends
from services.gateway.tests.conftest import replace
from services.gateway.tests.test_api import BODY, assert_problem


def test_idempotency_key_replays_the_first_answer(client, auth, fakes) -> None:
    h = auth("anna", **{"Idempotency-Key": "abc-1"})
    first = client.post("/v1/signals", json=BODY, headers=h)
    assert first.status_code == 201
    again = client.post("/v1/signals", json=BODY, headers=h)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(fakes.signal.requests) == 1  # the back end saw one registration
    # Without the key the duplicate is a conflict, as always.
    assert client.post("/v1/signals", json=BODY, headers=auth("anna")).status_code == 409


def test_same_key_other_body_is_422(client, auth) -> None:
    h = auth("anna", **{"Idempotency-Key": "abc-2"})
    assert client.post("/v1/signals", json=BODY, headers=h).status_code == 201
    other = {**BODY, "bsn": "111222333"}
    assert_problem(client.post("/v1/signals", json=other, headers=h), 422, "idempotency_key_reused")


def test_keys_are_per_credential(client, auth, fakes) -> None:
    assert (
        client.post("/v1/signals", json=BODY, headers=auth("anna", **{"Idempotency-Key": "k"})).status_code
        == 201
    )
    assert (
        client.post("/v1/signals", json=BODY, headers=auth("carla", **{"Idempotency-Key": "k"})).status_code
        == 201
    )
    assert len(fakes.signal.requests) == 2


def test_client_errors_are_replayed_too(client, auth, fakes) -> None:
    h = auth("anna", **{"Idempotency-Key": "bad-1"})
    bad = {**BODY, "bsn": "123456789"}
    assert client.post("/v1/signals", json=bad, headers=h).status_code == 400
    assert client.post("/v1/signals", json=bad, headers=h).headers.get("Idempotent-Replayed") == "true"


def test_invalid_key_is_400(client, auth) -> None:
    assert_problem(
        client.post("/v1/signals", json=BODY, headers=auth("anna", **{"Idempotency-Key": "x" * 201})),
        400,
        "invalid_idempotency_key",
    )


def _limited_app(settings, **changes):
    s = replace(settings, rate_limit_per_second=0.5, rate_limit_burst=3, **changes)
    return create_app(s, Backends.from_settings(s))


@pytest.mark.parametrize("use_redis", [False, True])
def test_rate_limit_per_credential(settings, demo, auth, request, use_redis) -> None:
    changes = {"redis_url": request.getfixturevalue("redis_server").url} if use_redis else {}
    app = _limited_app(settings, **changes)
    try:
        c = app.test_client()
        statuses = [c.get("/v1/signals", headers=auth("bram")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        resp = c.get("/v1/signals", headers=auth("bram"))
        assert_problem(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
        # Another credential has its own bucket.
        assert c.get("/v1/signals", headers=auth("daan")).status_code == 200
        # Public endpoints are not limited.
        assert c.get("/v1/openapi.json").status_code == 200
    finally:
        app.extensions["sluis_gateway"].store.pool.close()


def test_redis_down_paces_locally(settings, demo, auth) -> None:
    # The one outage policy (services.common.ratelimit): requests are still served, and each
    # pod keeps the limit in its own bucket until Redis is back.
    app = _limited_app(settings, redis_url="redis://127.0.0.1:1/0")
    try:
        c = app.test_client()
        statuses = [c.get("/v1/signals", headers=auth("bram")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    finally:
        app.extensions["sluis_gateway"].store.pool.close()


def test_no_unkeyed_hash_of_a_request_body_is_stored(app, client, auth) -> None:
    """Issue 14: a plain hash of a POST /v1/signals body could be brute-forced back to its BSN;
    the Idempotency-Key fingerprint is an HMAC under a key the database does not hold."""
    h = auth("anna", **{"Idempotency-Key": "fingerprint-1", "Content-Type": "application/json"})
    body = json.dumps(BODY).encode()
    assert client.post("/v1/signals", data=body, headers=h).status_code == 201
    with app.extensions["sluis_gateway"].store.pool.connection() as conn:
        (stored,) = conn.execute(
            "SELECT request_hash FROM idempotency_keys WHERE key = 'fingerprint-1'"
        ).fetchone()
    message = b"POST /v1/signals\n" + body
    for name in ("sha256", "sha512", "sha1", "md5", "blake2b", "sha3_256"):
        for candidate in (message, body):
            assert bytes(stored) != hashlib.new(name, candidate).digest()
    key = processing_log.derived_key(domain.REQUEST_FINGERPRINT_LABEL)
    assert bytes(stored) == hmac.new(key, message, hashlib.sha256).digest()


def test_a_key_from_before_the_keyed_fingerprint_is_still_replayed(app, client, auth, demo) -> None:
    """Migration 015 drops the old plain fingerprints (NULL); such a key replays its answer."""
    h = auth("anna", **{"Idempotency-Key": "legacy-1"})
    first = client.post("/v1/signals", json=BODY, headers=h)
    assert first.status_code == 201
    store = app.extensions["sluis_gateway"].store
    with store.pool.connection() as conn:
        conn.execute("UPDATE idempotency_keys SET request_hash = NULL WHERE key = 'legacy-1'")
    again = client.post("/v1/signals", json=BODY, headers=h)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
