import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import psycopg
import pytest

from services.common import clients, db, errors, outbox
from services.common.backoff import backoff
from services.common.config import ConfigError, ServiceSettings, from_env, setting
from services.common.db import open_pool
from services.common.domains import WORK_DOMAINS
from services.common.logs import redact
from services.common.ratelimit import TokenBucket


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoSettings(ServiceSettings):
    peers: tuple[str, ...] = setting("SLUIS_PEERS", ())
    flag: bool = setting("SLUIS_FLAG", False)


def test_settings_parse_types_and_report_all_missing() -> None:
    s = from_env(
        DemoSettings,
        {"SLUIS_REGION": "r", "SLUIS_DATABASE_URL": "u", "SLUIS_PEERS": "a, b", "SLUIS_FLAG": "yes"},
    )
    assert s.peers == ("a", "b") and s.flag is True and s.db_pool_max == 10
    with pytest.raises(ConfigError) as exc:
        from_env(DemoSettings, {"SLUIS_DB_POOL_MAX": "many"})
    message = str(exc.value)
    assert "SLUIS_REGION is required" in message and "SLUIS_DATABASE_URL is required" in message
    assert "SLUIS_DB_POOL_MAX" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bsn 123456782 ongeldig", "bsn [verwijderd] ongeldig"),
        ('{"bsn":"123456782"}', '{"bsn":"[verwijderd]"}'),
        ("phone 0612345678", "phone 0612345678"),  # ten digits: not a BSN
        ("trace 4bf92f3577b34da6a3ce929d0e0e4736", "trace 4bf92f3577b34da6a3ce929d0e0e4736"),
        ("span 123456789abcdef0", "span 123456789abcdef0"),
    ],
)
def test_redact_masks_bsn_shapes_only(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_problem_document_and_status_mapping() -> None:
    err = errors.AlreadyExists("signal_exists", "Er is al een signaal.", existing_signal_id="abc")
    assert errors.http_status(err) == 409
    assert dict(err.trailing_metadata()) == {
        "sluis-reason": "signal_exists",
        "sluis-meta-existing-signal-id": "abc",
    }
    doc = errors.problem(409, err.detail, err.reason)
    assert doc["status"] == 409 and doc["title"] == "Conflict" and doc["code"] == "signal_exists"


def test_sync_channel_is_usable() -> None:
    channel = clients.sync_channel("127.0.0.1:1")
    with pytest.raises(grpc.RpcError) as exc:
        call: Any = channel.unary_unary("/x.Y/Z")
        call(b"", timeout=0.5)
    assert exc.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    channel.close()


async def _until(done: Callable[[], Awaitable[bool]], tries: int, pause: float) -> None:
    """Poll `done` until it holds (the test's assertions say what happens if it never does)."""
    for _ in range(tries):
        if await done():
            return
        await asyncio.sleep(pause)


async def _stop(task: "asyncio.Task[None]") -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_outbox_relay_delivers_in_order_and_retries(new_database) -> None:
    url = new_database("outbox", [outbox.MIGRATIONS])
    received: list[bytes] = []
    fail = {"n": 2}

    async def sender(payloads: list[bytes]) -> None:
        if fail["n"]:
            fail["n"] -= 1
            raise ConnectionError("receiver down")
        received.extend(payloads)

    async def scenario() -> None:
        pool = await open_pool(url, name="test")
        try:
            async with pool.connection() as conn, conn.transaction():
                for i in range(5):
                    await outbox.enqueue(conn, ["match"], f"e{i}".encode())
            relay = outbox.OutboxRelay(pool, {"match": sender}, poll_interval=0.05)
            task = asyncio.create_task(relay.run())

            async def acknowledged() -> bool:
                # Delivered and acknowledged: the relay deletes the rows after the sender returned.
                async with pool.connection() as conn:
                    row = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
                return len(received) == 5 and row == (0,)

            await _until(acknowledged, 200, 0.05)
            await _stop(task)
        finally:
            await pool.close()

    asyncio.run(scenario())
    assert received == [f"e{i}".encode() for i in range(5)]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)


def test_a_lingering_relay_sends_the_first_event_at_once_and_the_trickle_in_larger_batches(
    new_database,
) -> None:
    """Issue 21: after a small batch the relay waits `linger` before the next one, so events
    that arrive one by one meanwhile reach the receiver together, in order."""
    url = new_database("outbox_linger", [outbox.MIGRATIONS])
    batches: list[list[bytes]] = []

    async def sender(payloads: list[bytes]) -> None:
        batches.append(payloads)

    async def scenario() -> None:
        pool = await open_pool(url, name="test")
        try:
            async with pool.connection() as conn, conn.transaction():
                await outbox.enqueue(conn, ["match"], b"e0")
            relay = outbox.OutboxRelay(pool, {"match": sender}, poll_interval=0.05, linger=1.0)
            task = asyncio.create_task(relay.run())

            async def sent(n: int) -> bool:
                return sum(len(b) for b in batches) == n

            await _until(lambda: sent(1), 200, 0.01)
            # These arrive while the relay lingers (one commit: visible together, whenever
            # the relay looks next).
            async with pool.connection() as conn, conn.transaction():
                for i in range(1, 4):
                    await outbox.enqueue(conn, ["match"], f"e{i}".encode())
            await _until(lambda: sent(4), 500, 0.01)
            await _stop(task)
        finally:
            await pool.close()

    asyncio.run(scenario())
    assert batches == [[b"e0"], [b"e1", b"e2", b"e3"]]


def test_the_pool_checks_a_connection_only_after_it_sat_idle() -> None:
    """Issue 21: no liveness round trip for a connection handed out again within a second."""

    class Conn:
        pass

    conn = Conn()
    assert not db._recently_used(conn)  # first checkout: checked
    assert db._recently_used(conn)  # again at once: not checked
    db._last_checkout[conn] -= db.CHECK_AFTER_IDLE_SECONDS + 0.1  # as if it sat idle
    assert not db._recently_used(conn)


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20])
def test_backoff_is_exponential_with_full_jitter_and_capped(attempt: int) -> None:
    # Full jitter: anywhere from 0 to the exponential ceiling (notify used to draw from the
    # upper half only, which its docstring called "full jitter").
    ceiling = min(60.0, 1.0 * 2 ** (attempt - 1))
    waits = [backoff(attempt, 1.0, 60.0) for _ in range(400)]
    assert all(0.0 <= w <= ceiling for w in waits)
    assert any(w < ceiling / 2 for w in waits)
    assert len(set(waits)) > 1


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take("a.example", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a.example", 0.0) == pytest.approx(0.5)
    assert bucket.take("b.example", 0.0) == 0.0  # per domain
    assert bucket.take("a.example", 0.5) == 0.0
    assert bucket.take("a.example", 0.5) > 0


def test_work_domains_come_from_the_enum() -> None:
    assert WORK_DOMAINS == ("care", "youth", "education", "work_income", "housing", "safety", "debt")


def test_a_migration_behind_a_held_lock_gives_up_instead_of_queueing(new_database, tmp_path) -> None:
    from services.common.db import migrate

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "001.sql").write_text("CREATE TABLE t (x int);")
    (second / "001.sql").write_text("ALTER TABLE t ADD COLUMN y int;")
    url = new_database("locks", [first])
    with psycopg.connect(url) as holder:
        holder.execute("SELECT * FROM t")  # a transaction holding a lock on t stays open
        with pytest.raises(psycopg.errors.LockNotAvailable):
            migrate(url, [first, second], lock_timeout="200ms")
    assert migrate(url, [first, second]) == ["b/001.sql"]
