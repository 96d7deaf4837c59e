"""Issue 3: rotating the region's pseudonym key on the running platform.

The operator starts a rotation; signal and match re-key their stored pseudonyms in batches
while signals keep arriving; then the operator finishes it. Matches that existed before
still hold, and a new signal on the same BSN joins the existing match.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devstack.platform import Platform
from tests.helpers import Api, by_org, valid_bsns, wait_until

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 3.0
# Fast rotation for the test: the grace period must exceed the stores' rotation cache TTL
# plus their margin (and identity's key refresh), as in production (30 s > 5 + 5 + 2).
ROTATION_ENV = {
    "SLUIS_IDENTITY_ROTATION_GRACE_SECONDS": str(GRACE_SECONDS),
    "SLUIS_IDENTITY_KEY_REFRESH_SECONDS": "0.5",
    "SLUIS_REKEY_TTL_SECONDS": "1",
    "SLUIS_REKEY_MARGIN_SECONDS": "1",
    "SLUIS_REKEY_POLL_SECONDS": "0.5",
    "SLUIS_REKEY_BATCH_SIZE": "3",  # several batches even for this small data set
    "SLUIS_REKEY_REPORT_SECONDS": "0.5",
}
# Every table that keeps a pseudonym, per store.
PSEUDONYM_TABLES = {"signal": ("signals",), "match": ("involvements", "matches", "access_log")}


@pytest.fixture(scope="module")
def platform_env() -> dict[str, str]:
    return dict(ROTATION_ENV)


def rotate(platform: Platform, *args: str) -> dict[str, Any]:
    """The operator command, as a process with the identity service's address."""
    env = {**os.environ, "SLUIS_IDENTITY_ADDR": platform.address("identity")}
    done = subprocess.run(
        [sys.executable, "-m", "services.identity", "rotate", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def count(platform: Platform, service: str, pattern: str) -> int:
    """Rows of `service` whose pseudonym matches `pattern` (e.g. '1.%'), over every table."""
    with psycopg.connect(platform.database_urls[service], autocommit=True) as conn:
        total = 0
        for table in PSEUDONYM_TABLES[service]:
            row = conn.execute(
                f"SELECT count(*) FROM {table} WHERE pseudonym LIKE %s",  # noqa: S608 (fixed names)
                (pattern,),
            ).fetchone()
            total += int(row[0]) if row else 0
        return total


def outbox_pending(platform: Platform, service: str) -> int:
    with psycopg.connect(platform.database_urls[service], autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0]) if row else 0


def involvement(api: Api, signal_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/signals/{signal_id}/involvement")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def others(api: Api, signal_id: str) -> list[str]:
    return sorted(o["name"] for o in involvement(api, signal_id)["others"])


def wait_for_others(api: Api, signal_id: str, names: list[str]) -> None:
    wait_until(lambda: others(api, signal_id) == sorted(names))


def progress_lines(platform: Platform, store: str) -> list[dict[str, Any]]:
    lines = []
    for line in (platform.logdir / f"{store}.log").read_text(errors="replace").splitlines():
        if "re-key progress" in line:
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def reported_done(platform: Platform, store: str, rotation_id: str) -> bool:
    """The store logged, for this rotation, that no row under the old key remains."""
    return any(
        line.get("remaining") == 0 and line.get("rotation_id") == rotation_id
        for line in progress_lines(platform, store)
    )


def access_lookups(platform: Platform, bsn: str) -> list[dict[str, Any]]:
    """The municipality's access requests the person's access document lists (a new one each)."""
    admin = next(a for a in platform.demo["admins"] if a["role"] == "regionAdmin")
    resp = Api(platform.url, admin["apiKey"]).post(
        "/v1/access-requests", {"bsn": bsn, "requester": "person", "caseReference": "Z-3-13"}
    )
    assert resp.status_code == 200, resp.text
    return [x for x in resp.json()["municipalityLookUps"] if x["what"] == "inzageverzoek"]


def gateway_links(platform: Platform) -> int:
    with psycopg.connect(platform.database_urls["gateway"], autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM processing_log_links").fetchone()
        return int(row[0]) if row else 0


def test_rotation_keeps_matches_and_a_new_signal_joins(platform: Platform, professionals) -> None:
    (anna, *_), (bert, *_), (carla, *_) = list(by_org(professionals).values())[:3]
    a, b, c = (Api(platform.url, p["apiKey"]) for p in (anna, bert, carla))
    people = valid_bsns(14, start=310_000_000)
    before, during = people[:8], people[8:]

    # Before: organisations A and B signal eight people: eight matches.
    signals: dict[str, tuple[str, str]] = {}
    for bsn in before:
        first, second = a.signal(bsn), b.signal(bsn)
        assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
        signals[bsn] = (first.json()["id"], second.json()["id"])
    matches: dict[str, str] = {}
    for bsn, (sid_a, sid_b) in signals.items():
        wait_for_others(a, sid_a, [bert["name"]])
        assert others(b, sid_b) == [anna["name"]]
        matches[bsn] = involvement(a, sid_a)["match"]["id"]
        assert involvement(b, sid_b)["match"]["id"] == matches[bsn]
    assert count(platform, "signal", "1.%") == 16
    assert count(platform, "match", "1.%") > 16  # involvements, matches and the access log

    # The municipality's access requests before: the gateway's own lines, under key 1; one on
    # a person SluiS knows nothing else about (no signal, no match to link the log through).
    (lone,) = valid_bsns(1, start=319_000_000)
    for bsn in (before[0], lone):
        assert len(access_lookups(platform, bsn)) == 1

    # The operator starts the rotation; the switch to key 2 follows after the grace period.
    rotation = rotate(platform, "start")
    assert (rotation["from_key_version"], rotation["to_key_version"]) == (1, 2)
    assert rotation["state"] == "ROTATION_STATE_IN_PROGRESS"
    switch_at = datetime.fromisoformat(rotation["switch_at"])
    assert rotate(platform, "status")["rotation_id"] == rotation["rotation_id"]

    # Signals keep coming in across the switch: new people (A and B), and reads of old ones.
    for n, bsn in enumerate(during):
        first, second = a.signal(bsn), b.signal(bsn)
        assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
        signals[bsn] = (first.json()["id"], second.json()["id"])
        old_sid = signals[before[n]][0]
        assert others(a, old_sid) == [bert["name"]]
        time.sleep((GRACE_SECONDS + 2) / len(during))
    assert datetime.now(UTC) > switch_at
    assert rotate(platform, "status")["switched"] is True
    # After the switch B's signal on a person from before arrives under the new key: the
    # person is converted first, so B's active signal still blocks a second one.
    again = b.signal(before[-1])
    assert again.status_code == 409, again.text
    for bsn in during:
        sid_a, sid_b = signals[bsn]
        wait_for_others(a, sid_a, [bert["name"]])
        matches[bsn] = involvement(a, sid_a)["match"]["id"]
        assert involvement(b, sid_b)["match"]["id"] == matches[bsn]

    # Both stores re-key everything (batches, plus the people touched on the way), and the
    # signal outbox drains, so nothing of key 1 is left anywhere.
    wait_until(lambda: count(platform, "signal", "1.%") == 0 and count(platform, "match", "1.%") == 0)
    wait_until(lambda: outbox_pending(platform, "signal") == 0)
    assert count(platform, "signal", "2.%") == 2 * len(people)
    # Operators see each store's progress in its log, down to zero.
    for store in ("signal", "match"):
        wait_until(partial(reported_done, platform, store, rotation["rotation_id"]), timeout=15)

    # The gateway links its log's people to their new pseudonyms (its bulk worker) too.
    wait_until(lambda: gateway_links(platform) >= 2)

    finished = rotate(platform, "finish", rotation["rotation_id"])
    assert finished["state"] == "ROTATION_STATE_FINISHED"

    # After: every match holds, with the same members and the same id.
    for bsn, (sid_a, sid_b) in signals.items():
        assert others(a, sid_a) == [bert["name"]]
        assert others(b, sid_b) == [anna["name"]]
        assert involvement(a, sid_a)["match"]["id"] == matches[bsn]

    # A third organisation signals people known from before and during the rotation:
    # they join the existing matches.
    for bsn in (before[0], during[-1]):
        joined = c.signal(bsn)
        assert joined.status_code == 201, joined.text
        sid_a, _ = signals[bsn]
        wait_for_others(a, sid_a, [bert["name"], carla["name"]])
        assert involvement(a, sid_a)["match"]["id"] == matches[bsn]
        assert involvement(c, joined.json()["id"])["match"]["id"] == matches[bsn]
    assert count(platform, "signal", "1.%") == 0 and count(platform, "match", "1.%") == 0
    # The access requests made under key 1 are still in the access documents under key 2.
    for bsn in (before[0], lone):
        assert len(access_lookups(platform, bsn)) == 2  # the one under key 1, and this one
