"""Issue 21: the authentication cache. A cached answer is at most 5 s old; a revoke or rotate
clears it at once in this process and, through Redis pub/sub, in every other gateway process.
No timing assertions: an injected clock stands for the passing seconds."""

import psycopg

from services.gateway.app import create_app
from services.gateway.authcache import MAX_TTL_SECONDS, AuthCache, UsageRecorder
from services.gateway.backends import Backends
from services.gateway.store import GatewayStore, open_pool
from services.gateway.tests.conftest import close_app, key_of, replace
from services.gateway.tests.test_api import assert_problem


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_cache_keeps_an_answer_at_most_the_bound() -> None:
    clock = FakeClock()
    cache = AuthCache(ttl_seconds=60, now=clock)  # asked for more than allowed
    assert cache.ttl == MAX_TTL_SECONDS == 5.0
    loads: list[int] = []

    def load() -> str:
        loads.append(1)
        return "who"

    assert cache.get("k", load) == "who"
    clock.t += 4.9
    assert cache.get("k", load) == "who" and len(loads) == 1
    clock.t += 0.1  # 5 s since the read began: read again
    assert cache.get("k", load) == "who" and len(loads) == 2
    cache.invalidate()
    assert cache.get("k", load) == "who" and len(loads) == 3


def test_misses_are_not_cached_and_an_invalidation_during_a_load_wins() -> None:
    cache = AuthCache(now=FakeClock())
    assert cache.get("k", lambda: None) is None
    assert cache.get("k", lambda: "new key") == "new key"

    def racing() -> str:
        cache.invalidate()  # a revoke lands while this (stale) read runs
        return "stale"

    assert cache.get("other", racing) == "stale"
    assert cache.get("other", lambda: "fresh") == "fresh"


def test_usage_is_written_at_most_once_a_minute_per_credential() -> None:
    clock = FakeClock()
    written: list[list[str]] = []
    usage = UsageRecorder(written.append, now=clock)
    usage._thread = object()  # type: ignore[assignment]  # no background thread: flush by hand
    for _ in range(100):
        usage.used("a")
    usage.used("b")
    usage.flush()
    assert sorted(written[0]) == ["a", "b"] and len(written) == 1
    clock.t += 59
    usage.used("a")
    usage.flush()
    assert len(written) == 1
    clock.t += 1
    usage.used("a")
    usage.flush()
    assert written[1] == ["a"]


def _revoke_behind_the_stores_back(url: str, key_name: str) -> None:
    """As if the invalidation message were lost: only the TTL protects."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_credentials SET revoked_at = now() WHERE professional_id ="
            " (SELECT id FROM professionals WHERE lower(name) LIKE %s)",
            (key_name.lower() + "%",),
        )


def test_a_revoked_key_is_refused_within_the_bound_even_without_the_message(settings, demo) -> None:
    clock = FakeClock()
    store = GatewayStore(open_pool(settings.database_url), cache=AuthCache(now=clock))
    app = create_app(settings, Backends.from_settings(settings), store=store)
    try:
        client = app.test_client()
        h = {"Authorization": f"Bearer {key_of(demo, 'anna')}"}
        assert client.get("/v1/signals", headers=h).status_code == 200
        _revoke_behind_the_stores_back(settings.database_url, "anna")
        clock.t += MAX_TTL_SECONDS - 0.5
        assert client.get("/v1/signals", headers=h).status_code == 200  # cached, within the bound
        clock.t += 0.5
        assert_problem(client.get("/v1/signals", headers=h), 401, "invalid_credentials")
    finally:
        close_app(app)


def test_revoke_and_rotate_clear_the_cache_at_once(client, demo, auth) -> None:
    admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
    ah = {"Authorization": f"Bearer {admin['apiKey']}"}
    base = f"/v1/organisations/{admin['organisationId']}/api-credentials"
    anna = next(p for p in demo["professionals"] if p["organisationId"] == admin["organisationId"])
    keys = []
    for name in ("een", "twee"):
        created = client.post(base, json={"name": name}, headers=ah).get_json()
        keys.append(
            (created["id"], {"Authorization": f"Bearer {created['apiKey']}", "X-Professional-Id": anna["id"]})
        )
    for _, h in keys:
        assert client.get("/v1/signals", headers=h).status_code == 200  # now cached
    assert client.post(f"{base}/{keys[0][0]}/revoke", headers=ah).status_code == 200
    assert_problem(client.get("/v1/signals", headers=keys[0][1]), 401, "invalid_credentials")
    assert client.post(f"{base}/{keys[1][0]}/rotate", json={"graceSeconds": 0}, headers=ah).status_code == 201
    assert_problem(client.get("/v1/signals", headers=keys[1][1]), 401, "invalid_credentials")


def test_a_revoke_in_one_process_clears_the_cache_of_another(settings, demo, redis_server) -> None:
    from tests.helpers import wait_until

    shared = replace(settings, redis_url=redis_server.url)
    # Two gateway processes' worth of app (each its own store, cache and subscriber).
    one, other = (create_app(shared, Backends.from_settings(shared)) for _ in range(2))
    try:
        for app in (one, other):
            wait_until(app.extensions["sluis_auth_invalidations"].connected.is_set)
        h = {"Authorization": f"Bearer {key_of(demo, 'anna')}"}
        assert other.test_client().get("/v1/signals", headers=h).status_code == 200
        cache = other.extensions["sluis_gateway"].store.cache
        assert len(cache) > 0
        one.extensions["sluis_gateway"].store.cache.invalidate()  # what revoke/rotate call
        wait_until(lambda: len(cache) == 0, timeout=10)
    finally:
        for app in (one, other):
            app.extensions["sluis_auth_invalidations"].stop()
            close_app(app)
