"""Issue 12: forgetting reaches every copy, in every service, on the real platform.

Three organisations signal one person (a match, mails, inbox items). A region admin upholds an
objection on one signal; another professional ends theirs as unjustified. Then every table of
every service's database is dumped, every text, json, array and bytea column as discovered from
information_schema (no hand-picked list), and none may hold those signals' ids, or the removed
professionals' contact details for the match. The one exception is the processing log
(issue 13): it keeps that the signals were registered and removed, by which organisation and
why, for the person's access document, and nothing else (checked below).
"""

from functools import partial
from typing import Any

import psycopg
from psycopg import sql

from tests.helpers import Api, by_org, valid_bsns, wait_until

_DUMPED_TYPES = ("text", "character varying", "json", "jsonb", "bytea", "ARRAY", "uuid")


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """table -> rows of its text/json/bytea/array/uuid columns, discovered from the catalog."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(url) as conn:
        columns: dict[str, list[str]] = {}
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type = ANY(%s) ORDER BY table_name, ordinal_position",
            (list(_DUMPED_TYPES),),
        ):
            columns.setdefault(table, []).append(column)
        for table, cols in columns.items():
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in cols), sql.Identifier(table)
            )
            out[table] = conn.execute(query).fetchall()
    return out


# The processing log's tables (services/common/processing_log.py) in signal, match, notify
# and the gateway.
PROCESSING_LOG = frozenset({"processing_log", "processing_audit", "processing_log_links"})


def in_processing_log(service: str, table: str, row: tuple[Any, ...]) -> bool:
    return table in PROCESSING_LOG


def mailed(platform: Any, match_id: str) -> list[str]:
    """The professionals notify's processing log says it mailed about the match."""
    with psycopg.connect(platform.database_urls["notify"]) as conn:
        rows = conn.execute(
            "SELECT a.actor_id FROM processing_log l JOIN processing_audit a ON a.operation_id = l.operation_id"
            " WHERE l.name = 'notify.mail_sent' AND l.attributes->>'sluis.match_id' = %s",
            (match_id,),
        ).fetchall()
    return [r[0] for r in rows]


def holds(row: tuple[Any, ...], needle: str) -> bool:
    for value in row:
        if isinstance(value, bytes | memoryview):
            raw = bytes(value)
            if needle.encode() in raw or needle.encode().hex() in raw.hex():
                return True
        elif needle in str(value):
            return True
    return False


def findings(platform: Any, needles: list[str], skip: Any = lambda service, table, row: False) -> list[str]:
    found = []
    for service, url in platform.database_urls.items():
        for table, rows in dump(url).items():
            for row in rows:
                for needle in needles:
                    if holds(row, needle) and not skip(service, table, row):
                        found.append(f"{needle!r} in {service}.{table}: {row!r}"[:300])
    return found


def test_forget_reaches_every_copy(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    p1, p2, p3 = orgs[0][0], orgs[1][0], orgs[2][0]
    colleague = orgs[0][1]
    apis = [Api(platform.url, p["apiKey"]) for p in (p1, p2, p3)]
    region = Api(
        platform.url, next(a for a in platform.demo["admins"] if a["role"] == "regionAdmin")["apiKey"]
    )
    (bsn,) = valid_bsns(1, start=731_000_000)
    ids = []
    for n, api in enumerate(apis):
        # With an Idempotency-Key: the gateway keeps the 201 reply (naming the signal) for 24 h,
        # a copy the erasure must reach too.
        api.session.headers["Idempotency-Key"] = f"forget-{bsn}-{n}"
        created = api.signal(bsn)
        del api.session.headers["Idempotency-Key"]
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    s1, s2, s3 = ids
    # A match of three, everybody mailed and with inbox items naming the others.
    involved = wait_until(
        lambda: len((r := apis[2].get(f"/v1/signals/{s3}/involvement")).json().get("others", [])) == 2 and r
    )
    match_id = involved.json()["match"]["id"]
    for email in (p1["email"], p2["email"], p3["email"]):
        wait_until(partial(platform.mailbox.to, email))
    assert findings(platform, [s1, s2])  # the copies exist before
    assert any(holds(r, s1) for r in dump(platform.database_urls["gateway"])["idempotency_keys"])

    with psycopg.connect(platform.database_urls["gateway"]) as conn:
        phones = [
            r[0]
            for r in conn.execute(
                "SELECT phone FROM professionals WHERE id = ANY(%s::uuid[])", ([p1["id"], p2["id"]],)
            )
        ]
    removed_contacts = [p1["email"], p2["email"], p1["name"], p2["name"], *[ph for ph in phones if ph]]

    upheld = region.post("/v1/objections", {"signalId": s1, "decision": "upheld"})
    assert upheld.status_code == 201, upheld.text
    objection_id = upheld.json()["objectionId"]
    assert apis[1].post(f"/v1/signals/{s2}/end", {"reason": "unjustified"}).status_code == 204

    # Within one relay cycle (a few seconds here): nothing holds the erased signals' ids, but
    # the processing log, which keeps their registration and removal (and only that).
    wait_until(lambda: not findings(platform, [s1, s2], in_processing_log), timeout=60)
    with psycopg.connect(platform.database_urls["signal"]) as conn:
        kept = conn.execute(
            "SELECT attributes->>'sluis.signal_id', name, processing_activity_id, attributes->>'reason'"
            " FROM processing_log WHERE attributes->>'sluis.signal_id' = ANY(%s) ORDER BY id",
            ([s1, s2],),
        ).fetchall()
    assert (s1, "signal.delete", "bezwaar", "objection_upheld") in kept
    assert (s2, "signal.delete", "signalering", "unjustified") in kept
    assert {(sid, name) for sid, name, _, _ in kept} >= {(s1, "signal.register"), (s2, "signal.register")}
    # Notify's log still accounts for the match mails to the removed professionals (by match
    # and organisation; who received them is in its audit rows, by id, never by address).
    wait_until(lambda: {p1["id"], p2["id"]} <= set(mailed(platform, match_id)))
    wait_until(
        lambda: (
            platform.mailbox.to(p1["email"])
            and any("bezwaar" in m.subject for m in platform.mailbox.to(p1["email"]))
        )
    )
    # The signalling organisation's admin is told why too (mail and inbox), without the person.
    admin = next(
        a
        for a in platform.demo["admins"]
        if a["role"] == "organisationAdmin" and a["organisationId"] == p1["organisationId"]
    )
    told_admin = wait_until(
        lambda: [m for m in platform.mailbox.to(admin["email"]) if "bezwaar" in m.subject]
    )
    for mail in told_admin:
        for secret in (bsn, s1, match_id, p1["name"]):
            assert secret not in mail.subject + mail.text() + mail.html()

    # Their contact details are gone from everything about the match. Allowed: the gateway's
    # own register of professionals (their account, not the match) and the notice that told
    # the first professional why their signal disappeared (it names no signal, person or match).
    def allowed(service: str, table: str, row: tuple[Any, ...]) -> bool:
        if service == "gateway" and table in ("professionals", "web_accounts"):
            return True
        return service == "notify" and "signal_removed" in row and not holds(row, match_id)

    wait_until(lambda: not findings(platform, removed_contacts, allowed), timeout=60)
    told = [
        r for rows in dump(platform.database_urls["notify"]).values() for r in rows if "signal_removed" in r
    ]
    assert told and not any(holds(r, s1) or holds(r, match_id) for r in told)

    # The third professional still sees the (closed) match only with themselves; no pseudonym
    # of the person is linked to the erased signals anywhere (their ids are gone everywhere).
    with psycopg.connect(platform.database_urls["match"]) as conn:
        members = conn.execute(
            "SELECT professional_id FROM match_members WHERE match_id = %s", (match_id,)
        ).fetchall()
    assert members == [(p3["id"],)]

    # Issue 12, must-show 3: the objection sticks for the whole organisation until lifted.
    for api in (apis[0], Api(platform.url, colleague["apiKey"])):
        again = api.signal(bsn)
        assert again.status_code == 409, again.text
        assert again.headers["Content-Type"].startswith("application/problem+json")
        assert again.json()["code"] == "objection_upheld"
    assert apis[1].signal(bsn).status_code == 201  # ended as unjustified: no block
    lifted = region.session.delete(f"{platform.url}/v1/objections/{objection_id}/block", timeout=30)
    assert lifted.status_code == 204, lifted.text
    assert apis[0].signal(bsn).status_code == 201
