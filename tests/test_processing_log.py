"""Issue 13 on the real platform: every disclosure accounted for, nothing invented.

1. Professional D registers a signal on a person somebody else already signalled, gets the
   match mail and an inbox item, opens the item, and ends the signal as unjustified at once.
   The access document still shows D's organisation, the registration, the disclosure (the
   notice, the mail notify sent, the inbox item created and read, and D's read) and the
   removal; also after the lifecycle purge ran.
2. Opening the statistics and admin pages (portal and REST) writes no processing-log line
   about any person.
"""

import re
import time
from typing import Any

import grpc
import psycopg
import requests
from sluis.signal.v1 import signal_pb2 as spb
from sluis.signal.v1 import signal_pb2_grpc as spb_grpc

from services.gateway import totp
from services.gateway.demo import DEMO_PASSWORD, demo_totp_secret
from tests.helpers import Api, by_org, valid_bsns, wait_until

LOGGED = ("signal", "match", "gateway", "notify")


def log_lines(platform: Any) -> int:
    total = 0
    for service in LOGGED:
        with psycopg.connect(platform.database_urls[service]) as conn:
            row = conn.execute("SELECT count(*) FROM processing_log").fetchone()
            total += int(row[0]) if row else 0
    return total


def notify_lines(platform: Any, name: str) -> int:
    with psycopg.connect(platform.database_urls["notify"]) as conn:
        row = conn.execute("SELECT count(*) FROM processing_log WHERE name = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def newest_lines(platform: Any) -> list[tuple[str, str, str, int]]:
    """(service, name, activity, id) of each service's newest lines: what a failure shows."""
    out = []
    for service in LOGGED:
        with psycopg.connect(platform.database_urls[service]) as conn:
            out += [
                (service, str(r[0]), str(r[1]), int(r[2]))
                for r in conn.execute(
                    "SELECT name, processing_activity_id, id FROM processing_log ORDER BY id DESC LIMIT 20"
                ).fetchall()
            ]
    return out


def settled(count: Any, quiet: float = 2.0, timeout: float = 60.0) -> int:
    """`count()` once it has not changed for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the processing log did not settle"
        time.sleep(0.2)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
    return int(last)


TRACEPARENT = "00-" + "a1" * 16 + "-" + "b2" * 8 + "-01"


def foreign_of(
    platform: Any, service: str, name: str, signal_id: str, match_also: bool
) -> set[tuple[str, ...]]:
    """(foreign trace id, operation id, entity up to the API key) of the service's lines."""
    with psycopg.connect(platform.database_urls[service]) as conn:
        rows = conn.execute(
            "SELECT foreign_trace_id, foreign_operation_id, foreign_entity FROM processing_log WHERE name = %s"
            " AND (attributes->>'sluis.signal_id' = %s OR %s)",
            (name, signal_id, match_also),
        ).fetchall()
    return {(t, o, e.rpartition("/")[0] + "/") for t, o, e in rows if t}


def region_admin(platform: Any) -> Api:
    return Api(platform.url, next(a for a in platform.demo["admins"] if a["role"] == "regionAdmin")["apiKey"])


def access_document(platform: Any, bsn: str) -> dict[str, Any]:
    resp = region_admin(platform).post(
        "/v1/access-requests", {"bsn": bsn, "requester": "person", "caseReference": "Z-13-1"}
    )
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    return doc


def check_document(doc: dict[str, Any], d: dict[str, Any], signal_id: str) -> None:
    org = d["organisation"]
    (mine,) = [s for s in doc["signals"] if s["id"] == signal_id]
    assert mine["organisation"]["name"] == org and mine["status"] == "deleted"
    assert mine["registeredAt"] and mine["endedAt"] and mine["endReason"] == "unjustified"
    assert len(mine["referenceChangedAt"]) == 1 and "D-13" not in str(doc)
    told = [x for x in doc["disclosures"] if x["organisation"]["name"] == org]
    # The notice (match), the mail sent and the inbox item created and opened (notify), D's read.
    assert {x["channel"] for x in told} >= {"melding", "e-mail", "inbox", "api"}
    what = {x["what"] for x in told}
    assert {
        "e-mail over de match met wie er bij u betrokken is (verstuurd)",
        "bericht in de SluiS-inbox over de match",
        "bericht in de SluiS-inbox over de match (geopend)",
    } <= what
    assert any(m["organisation"]["name"] == org and m["leftAt"] for m in doc["memberships"])
    assert doc["municipalityLookUps"]


def test_register_mail_unjustified_end_is_in_the_access_document(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    first, d = orgs[0][0], orgs[1][0]
    (bsn,) = valid_bsns(1, start=813_000_000)
    assert Api(platform.url, first["apiKey"]).signal(bsn).status_code == 201
    api = Api(platform.url, d["apiKey"])
    # D's organisation calls from its own system, in its own trace (W3C traceparent).
    api.session.headers["traceparent"] = TRACEPARENT
    created = api.signal(bsn)
    assert created.status_code == 201, created.text
    signal_id = created.json()["id"]
    wait_until(lambda: platform.mailbox.to(d["email"]))
    wait_until(lambda: api.get(f"/v1/signals/{signal_id}/involvement").json().get("others"))
    del api.session.headers["traceparent"]
    # The lines of the services the gateway called name that caller's operation as foreign.
    for service, name in (("signal", "signal.register"), ("match", "match.involvement")):
        assert foreign_of(platform, service, name, signal_id, match_also=service == "match") == {
            ("a1" * 16, "b2" * 8, f"https://sluis.nl/organisaties/{d['organisationId']}/koppelingen/")
        }, service
    # D's own reference on the signal: a line of its own (never the reference itself).
    changed = api.session.patch(
        f"{api.base}/v1/signals/{signal_id}", json={"clientReference": "D-13"}, timeout=30
    )
    assert changed.status_code == 200, changed.text
    (item, *_) = wait_until(lambda: api.get("/v1/inbox").json()["items"])
    assert api.post(f"/v1/inbox/{item['id']}/read", {}).status_code == 200
    # The mail's line is written when notify records it as sent (just after the SMTP hand-over).
    wait_until(lambda: "e-mail" in {x["channel"] for x in access_document(platform, bsn)["disclosures"]})
    assert api.post(f"/v1/signals/{signal_id}/end", {"reason": "unjustified"}).status_code == 204
    wait_until(lambda: any(m["leftAt"] for m in access_document(platform, bsn)["memberships"]))
    doc = access_document(platform, bsn)
    check_document(doc, d, signal_id)
    assert bsn not in str(doc)
    # The same after the lifecycle purge.
    with grpc.insecure_channel(platform.address("signal")) as channel:
        spb_grpc.SignalServiceStub(channel).RunLifecycle(spb.RunLifecycleRequest(), timeout=60)
    check_document(access_document(platform, bsn), d, signal_id)


def portal_session(platform: Any, email: str) -> requests.Session:
    session = requests.Session()
    token = re.compile(r'name="csrf_token" value="([^"]+)"')

    def csrf(path: str) -> str:
        found = token.search(session.get(platform.url + path, timeout=30).text)
        assert found, path
        return found.group(1)

    session.post(
        platform.url + "/inloggen",
        data={"csrf_token": csrf("/inloggen"), "email": email, "password": DEMO_PASSWORD},
        timeout=30,
    )
    code_token = csrf("/inloggen/code")
    for at in (time.time(), time.time() + 30):
        resp = session.post(
            platform.url + "/inloggen/code",
            data={"csrf_token": code_token, "code": totp.code_at(demo_totp_secret(email), at)},
            timeout=30,
            allow_redirects=False,
        )
        if resp.status_code == 302:
            return session
    raise AssertionError("login failed")


def test_statistics_and_admin_pages_write_no_line_about_anybody(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    (bsn,) = valid_bsns(1, start=814_000_000)
    # The platform is shared with the other test of this module, whose mails and inbox items
    # were logged already: wait for this match's own two of each, counted from here.
    mails_before = notify_lines(platform, "notify.mail_sent")
    items_before = notify_lines(platform, "notify.inbox_item")
    for p in (orgs[0][0], orgs[1][0]):
        assert Api(platform.url, p["apiKey"]).signal(bsn).status_code == 201
    org_admin = next(a for a in platform.demo["admins"] if a["role"] == "organisationAdmin")
    # The match's mails, inbox items and their notify lines arrive asynchronously: count only
    # once notify logged both mails and both inbox items and the log then stood still, so that
    # a late line is not taken for a read.
    wait_until(
        lambda: (
            notify_lines(platform, "notify.mail_sent") >= mails_before + 2
            and notify_lines(platform, "notify.inbox_item") >= items_before + 2
        ),
        timeout=60,
    )
    before = settled(lambda: log_lines(platform))
    lines_before = newest_lines(platform)
    session = portal_session(platform, org_admin["email"])
    for path in ("/beheer/statistieken", "/beheer/professionals", "/beheer/organisatie", "/beheer/sleutels"):
        assert session.get(platform.url + path, timeout=30).status_code == 200, path
    admin_api = Api(platform.url, org_admin["apiKey"])
    org_id = org_admin["organisationId"]
    for path in (
        f"/v1/organisations/{org_id}",
        f"/v1/organisations/{org_id}/professionals",
        "/v1/processing-activities",
    ):
        assert admin_api.get(path).status_code == 200, path
    assert log_lines(platform) == before, set(newest_lines(platform)) - set(lines_before)
