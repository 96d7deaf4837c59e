"""The stores' side of key rotation, on a toy table in a real PostgreSQL against a real identity
service: people stay together across a rotation while new signals keep arriving."""

import asyncio
import base64
import time
from collections import defaultdict

import grpc
import pytest
from psycopg_pool import AsyncConnectionPool
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.db import open_pool
from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.rekey import PseudonymRekeyer, Resolved, key_version
from services.identity.domain import bsn_error_reason
from services.identity.server import MIGRATIONS, IdentitySettings, create_service
from services.identity.store import initialise_keys

KEK = base64.b64encode(b"r" * 32).decode()


def valid_bsns(count: int, start: int = 100_000_000) -> list[str]:
    out: list[str] = []
    n = start
    while len(out) < count:
        if bsn_error_reason(str(n)) is None:
            out.append(str(n))
        n += 1
    return out


class ToySignals:
    """A store with one pseudonym column, written the way signal and match must do it."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT DISTINCT pseudonym FROM toy_signals WHERE pseudonym LIKE %s LIMIT %s",
                    (f"{version}.%", limit),
                )
            ).fetchall()
        return [r[0] for r in rows]

    async def replace(self, mapping: dict[str, str]) -> int:
        olds = list(mapping)
        news = [mapping[o] for o in olds]
        async with self.pool.connection() as conn, conn.transaction():
            # The same per-person lock as the business path, in a fixed order (no deadlocks).
            for new in sorted(news):
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (new,))
            cur = await conn.execute(
                "UPDATE toy_signals t SET pseudonym = m.new"
                " FROM unnest(%s::text[], %s::text[]) AS m(old, new) WHERE t.pseudonym = m.old",
                (olds, news),
            )
            return cur.rowcount

    async def count_version(self, version: int) -> int:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM toy_signals WHERE pseudonym LIKE %s", (f"{version}.%",)
                )
            ).fetchone()
        return int(row[0]) if row else 0

    async def register(self, person: Resolved, organisation: str) -> int:
        """The business path: lock the person, bring their rows to the current key, then act.
        Returns how many organisations are involved with the person afterwards (a 'match')."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (person.current,))
            if person.previous is not None:
                await conn.execute(
                    "UPDATE toy_signals SET pseudonym = %s WHERE pseudonym = %s",
                    (person.current, person.previous),
                )
            await conn.execute(
                "INSERT INTO toy_signals (pseudonym, organisation) VALUES (%s, %s)",
                (person.current, organisation),
            )
            row = await (
                await conn.execute(
                    "SELECT count(DISTINCT organisation) FROM toy_signals WHERE pseudonym = %s",
                    (person.current,),
                )
            ).fetchone()
            return int(row[0]) if row else 0


@pytest.fixture
def identity(new_database, run_service):
    url = new_database("identity", MIGRATIONS)
    settings = IdentitySettings(
        region="test",
        database_url=url,
        grpc_listen="127.0.0.1:0",
        kek=KEK,
        rotation_grace_seconds=3.0,
        key_refresh_seconds=0.2,
    )
    # identity starts only on an initialised key table (`identity init`)
    initialise_keys(settings.database_url, settings.kek_bytes())
    return run_service(lambda: create_service(settings))


@pytest.fixture
def toy_url(new_database):
    url = new_database("toy")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE toy_signals (id serial PRIMARY KEY, pseudonym text NOT NULL, organisation text NOT NULL)"
        )
    return url


def test_rotation_keeps_people_together_while_signals_arrive(identity, toy_url) -> None:
    people = valid_bsns(40)
    channel = grpc.insecure_channel(identity.address)
    stub = pb_grpc.IdentityServiceStub(channel)

    def pseudonym(bsn: str) -> str:
        return stub.Pseudonymise(pb.PseudonymiseRequest(bsn=bsn), timeout=5).pseudonym

    async def scenario() -> None:
        pool = await open_pool(toy_url, name="toy", max_size=6)
        store = ToySignals(pool)
        # Two replicas of the store, each with its own rekeyer, as in production.
        rekeyer, replica = (
            PseudonymRekeyer(identity.address, store, ttl=0.3, margin=0.4, batch_size=7, poll_interval=0.1)
            for _ in range(2)
        )
        try:
            # Before: every person known to organisations a and b (a match each).
            for bsn in people:
                for org in ("a", "b"):
                    (person,) = await rekeyer.resolve([pseudonym(bsn)])
                    assert person.previous is None
                    await store.register(person, org)
            old = {bsn: pseudonym(bsn) for bsn in people}
            assert all(key_version(p) == 1 for p in old.values())
            assert await rekeyer.remaining() == 0

            rotation = stub.StartRotation(pb.StartRotationRequest(), timeout=5).rotation
            assert (rotation.from_key_version, rotation.to_key_version) == (1, 2)
            # Announced, not yet switched: identity still issues version 1, nothing changes.
            assert await rekeyer.normalise([old[people[0]]]) == [old[people[0]]]
            assert key_version(pseudonym(people[0])) == 1

            tasks = [asyncio.create_task(r.run()) for r in (rekeyer, replica)]
            # Signals keep arriving during the rotation (organisation c, new key once switched).
            joined = []
            for n, bsn in enumerate(people[::4]):
                (person,) = await (rekeyer, replica)[n % 2].resolve([pseudonym(bsn)])
                joined.append(await store.register(person, "c"))
                await asyncio.sleep(0.35)  # spans the switch: joins before and after it
            assert joined == [3] * len(joined), "a new signal must join the existing match"

            deadline = time.monotonic() + 30
            while await store.count_version(1) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert await store.count_version(1) == 0
            assert await rekeyer.remaining() == 0
            for task in tasks:
                task.cancel()
            assert rekeyer.progress.rekeyed + replica.progress.rekeyed > 0

            # After: every row is the person's pseudonym under the new key; matches still hold.
            async with pool.connection() as conn:
                rows = await (
                    await conn.execute("SELECT pseudonym, organisation FROM toy_signals")
                ).fetchall()
            orgs: dict[str, set[str]] = defaultdict(set)
            for p, org in rows:
                orgs[p].add(org)
            assert len(orgs) == len(people)
            for i, bsn in enumerate(people):
                now = pseudonym(bsn)
                assert key_version(now) == 2
                assert orgs[now] == ({"a", "b", "c"} if i % 4 == 0 else {"a", "b"})
            # An old pseudonym arriving late (an outbox) is still mapped onto the same person.
            (late,) = await rekeyer.resolve([old[people[1]]])
            assert late.current == pseudonym(people[1]) and late.previous == old[people[1]]

            stub.FinishRotation(pb.FinishRotationRequest(rotation_id=rotation.rotation_id), timeout=5)
            with pytest.raises(grpc.RpcError) as exc:
                stub.RekeyPseudonyms(
                    pb.RekeyPseudonymsRequest(rotation_id=rotation.rotation_id, pseudonyms=[old[people[2]]]),
                    timeout=5,
                )
            assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            # Right after the finish (the rekeyer's cache still says "in progress") incoming
            # current pseudonyms pass; one of the retired key is refused, not stored beside
            # the person's current one; a made-up key version is refused too.
            current = pseudonym(people[3])
            assert await rekeyer.resolve([current]) == [Resolved(current)]
            assert await rekeyer.normalise([current]) == [current]
            assert await rekeyer.rotation() is None
            with pytest.raises(FailedPrecondition) as refused:
                await rekeyer.resolve([old[people[3]]])
            assert refused.value.reason == "pseudonym_key_retired"
            with pytest.raises(InvalidArgument):
                await rekeyer.normalise(["9." + current.split(".", 1)[1]])
            with pytest.raises(InvalidArgument):
                await rekeyer.normalise(["nonsense"])
        finally:
            await rekeyer.close()
            await replica.close()
            await pool.close()

    try:
        asyncio.run(scenario())
    finally:
        channel.close()
