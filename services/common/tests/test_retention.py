"""Issue 12: the purge jobs of docs/retention.md, driven by an injected clock (time travel)."""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg

from services.common.db import open_pool
from services.common.retention import Rule, purge, purge_sync
from services.gateway import retention as gateway_retention
from services.gateway.server import MIGRATIONS as GATEWAY_MIGRATIONS
from services.gateway.store import open_pool as open_sync_pool
from services.match import retention as match_retention
from services.match.server import MIGRATIONS as MATCH_MIGRATIONS
from services.notify import retention as notify_retention
from services.notify.server import MIGRATIONS as NOTIFY_MIGRATIONS

DAY0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _run(url: str, service: str, rules: tuple[Rule, ...], now: datetime, batch: int = 2) -> dict[str, int]:
    async def go() -> dict[str, int]:
        pool = await open_pool(url, name=service, max_size=2)
        try:
            return await purge(pool, service, rules, now, batch)
        finally:
            await pool.close()

    return asyncio.run(go())


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608 - fixed names
        assert row is not None
        return int(row[0])


def test_match_and_notify_purge_in_batches_on_their_retention(new_database) -> None:
    match_url = new_database("match", MATCH_MIGRATIONS)
    notify_url = new_database("notify", NOTIFY_MIGRATIONS)
    with psycopg.connect(match_url) as conn:
        for i in range(5):
            conn.execute(
                "INSERT INTO access_log (professional_id, organisation_id, pseudonym, match_id, purpose, outcome,"
                " trace_id, read_at) VALUES ('p', 'o', '1.x', 'm', 'portal', 'granted', '', %s)",
                (DAY0 + i * DAY,),
            )
        conn.execute("INSERT INTO erased_signals VALUES ('\\x01', %s)", (DAY0,))
    with psycopg.connect(notify_url) as conn:
        for i, state in enumerate(("sent", "dead", "queued")):
            conn.execute(
                "INSERT INTO deliveries (delivery_id, event_id, recipient, channel, kind, address, target,"
                " body_text, state, next_attempt_at, created_at)"
                " VALUES (gen_random_uuid(), %s, 'p', 'email', 'k', 'a@b.nl', 'b.nl', 'body', %s, %s, %s)",
                (f"e{i}", state, DAY0, DAY0),
            )
            conn.execute(
                "INSERT INTO inbox_items (item_id, professional_id, event_id, kind, title, body, created_at)"
                " VALUES (gen_random_uuid(), 'p', %s, 'k', 't', 'b', %s)",
                (f"e{i}", DAY0),
            )

    # Day 31: only the erased-signal hashes are past their 30 days.
    assert _run(match_url, "match", match_retention.RULES, DAY0 + 31 * DAY)["erased_signals"] == 1
    assert _count(match_url, "access_log") == 5
    # Five years after the third read: three reads go, in batches of two; idempotent.
    at = DAY0 + 2 * DAY + match_retention.ACCESS_LOG_RETENTION + timedelta(seconds=1)
    assert _run(match_url, "match", match_retention.RULES, at)["access_log"] == 3
    assert _run(match_url, "match", match_retention.RULES, at)["access_log"] == 0
    assert _count(match_url, "access_log") == 2

    at = DAY0 + 91 * DAY
    counts = _run(notify_url, "notify", notify_retention.RULES, at)
    assert counts["deliveries"] == 2  # a queued mail is never purged by age
    assert _count(notify_url, "inbox_items") == 3
    assert _run(notify_url, "notify", notify_retention.RULES, DAY0 + 366 * DAY)["inbox_items"] == 3


def test_gateway_purge_audit_rows_and_finished_bulk_loads(new_database) -> None:
    url = new_database("gateway", GATEWAY_MIGRATIONS)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO organisations (id, region, name, legal_basis)"
            " VALUES ('00000000-0000-0000-0000-000000000001', 'r', 'Org', 'consent')"
        )
        for state, finished in (("done", DAY0), ("failed", DAY0), ("running", None)):
            load = conn.execute(
                "INSERT INTO bulk_loads (id, organisation_id, credential_id, content_hash, format, state,"
                " finished_at) VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001',"
                " gen_random_uuid(), uuid_send(gen_random_uuid()), 'csv', %s, %s) RETURNING id",
                (state, finished),
            ).fetchone()
            assert load is not None
            conn.execute(
                "INSERT INTO bulk_load_errors (bulk_load_id, row_number, reason) VALUES (%s, 2, 'bsn_checksum')",
                (load[0],),
            )
        conn.execute("INSERT INTO audit_log (at, role, action, outcome) VALUES (%s, 'r', 'a', 'ok')", (DAY0,))
    pool = open_sync_pool(url, max_size=2)
    try:
        counts = purge_sync(pool, "gateway", gateway_retention.RULES, DAY0 + 31 * DAY, batch=1)
        # (processing_log, processing_audit: the processing log's own rules, nothing due here)
        assert counts == {
            "audit_log": 0,
            "bulk_loads": 2,
            "web_sessions": 0,
            "web_login_throttle": 0,
            "rights_requests": 0,
            "invitations": 0,
            "processing_log": 0,
            "processing_audit": 0,
        }
        assert _count(url, "bulk_load_errors") == 1  # the running load keeps its rows
        later = DAY0 + gateway_retention.AUDIT_RETENTION + DAY
        assert purge_sync(pool, "gateway", gateway_retention.RULES, later)["audit_log"] == 1
    finally:
        pool.close()
