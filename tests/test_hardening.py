"""Issue 14 rows 7 and 12 across the real platform (rows 4, 8 and 13: test_db_outage.py,
services/common/tests/test_netguard.py, services/notify/tests/test_webhooks.py, test_chaos.py
and test_supervisor.py)."""

import re

import psycopg

from tests.helpers import Api, by_org, valid_bsns, wait_until


def test_a_professional_with_a_bad_address_never_blocks_the_others(platform, professionals) -> None:
    """Row 7: a professional whose stored address is unusable (a row from before validation)
    is in a match; the others are still told of the match and of later joins, match parks
    nothing, and the bad mail is a dead letter of that professional's organisation."""
    orgs = list(by_org(professionals).values())
    bad, second, third = orgs[0][0], orgs[1][0], orgs[2][0]
    with psycopg.connect(platform.database_urls["gateway"]) as conn:
        # Quotes: signal's loose check lets it through, notify cannot mail it.
        conn.execute(
            """UPDATE professionals SET email = 'fout"adres@example.org' WHERE id = %s""", (bad["id"],)
        )
    bsn = valid_bsns(1, start=810_000_000)[0]
    for pro in (bad, second):
        assert Api(platform.url, pro["apiKey"]).signal(bsn).status_code == 201

    def match_mails(pro: dict) -> set[str]:
        return {
            m
            for mail in platform.mailbox.to(pro["email"])
            for m in re.findall(r"/matches/([0-9a-f-]{36})", mail.text())
        }

    match_id = wait_until(lambda: match_mails(second))
    assert Api(platform.url, third["apiKey"]).signal(bsn).status_code == 201
    # The join reaches both others (the match was not parked).
    wait_until(lambda: len(platform.mailbox.to(second["email"])) >= 2 and match_mails(third) == match_id)

    with psycopg.connect(platform.database_urls["match"]) as conn:
        assert conn.execute("SELECT count(*) FROM undeliverable_events").fetchone() == (0,)
    with psycopg.connect(platform.database_urls["notify"]) as conn:
        dead = conn.execute(
            "SELECT recipient, organisation_id, last_error FROM deliveries WHERE state = 'dead'"
        ).fetchall()
    assert dead and all(row == (bad["id"], bad["organisationId"], "invalid address") for row in dead)


def test_rotating_a_key_in_its_grace_period_is_a_conflict(platform) -> None:
    """Row 12: a key in its grace period already has its one live successor."""
    admin = next(a for a in platform.demo["admins"] if a["role"] == "organisationAdmin")
    api = Api(platform.url, admin["apiKey"])
    base = f"/v1/organisations/{admin['organisationId']}/api-credentials"
    cred = api.post(base, {"name": "zaaksysteem"}).json()
    first = api.post(f"{base}/{cred['id']}/rotate", {"graceSeconds": 3600})
    assert first.status_code == 201, first.text
    again = api.post(f"{base}/{cred['id']}/rotate", {"graceSeconds": 3600})
    assert again.status_code == 409 and again.json()["code"] == "credential_already_rotated"
    assert again.headers["Content-Type"].startswith("application/problem+json")
    listed = api.get(base).json()["apiCredentials"]
    assert sum(1 for c in listed if c["name"] == "zaaksysteem") == 2  # the old key and ONE successor
    # The successor itself can be rotated in its turn.
    assert api.post(f"{base}/{first.json()['id']}/rotate", {"graceSeconds": 0}).status_code == 201
