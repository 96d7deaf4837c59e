"""Issue 18 benchmark: the daily BRP re-check of N people with active signals (people/s),
next to the local BRP's own raw rate in the same run.

Starts embedded PostgreSQL, the local BRP (devstack/brp.py, synthetic mode: every BSN is a
person, answers validated against the Haal Centraal spec as in development) and the real
identity service with its BRP link, as processes. The vault is filled for N people (what
N registrations would leave). Then:
- raw: the BRP alone, POST /personen with 20 BSNs per request from 4 threads (what the
  identity client sends), as people per second;
- re-check: services.signal.recheck.run over real gRPC to identity (GetPersonFacts in
  batches, identity unseals the BSNs, asks the BRP 20 at a time with 4 in flight,
  pseudonymises parents and children), unthrottled. The signal-side list of active people
  is served from memory here: its index scan is not what limits the run.

    .venv/bin/python -m bench.bench_brp [--people 100000] [--seconds 10] [--batch 500]
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import grpc
import requests
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from bench.bench_identity import ROOT, run_threads, start_identity, valid_bsns
from devstack.postgres import EmbeddedPostgres
from devstack.redis import free_port
from services.common.db import migrate
from services.identity import domain
from services.identity.brp import query
from services.identity.server import MIGRATIONS
from services.identity.vault import BsnVault
from services.signal import recheck


def start_brp(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.brp", "--port", str(port), "--synthetic"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("local BRP did not start")


async def fill_vault(url: str, kek: bytes, bsns: list[str]) -> None:
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(url, open=False) as pool:
        keys = BsnVault(pool, {1: kek}).keyring.versions[1]
        rows = [(keys.person_key(domain.hash_to_group(b)), bytes(keys.box.encrypt(b.encode()))) for b in bsns]
        async with pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO brp_vault (person_key, sealed_bsn, kek_version) VALUES (%s, %s, 1)", rows
            )


class People:
    """The signal store's list of active people, from memory (see the module docstring)."""

    def __init__(self, pseudonyms: list[str]) -> None:
        self.pseudonyms = sorted(pseudonyms)

    async def active_people(self, after: str, limit: int) -> list[tuple[str, str]]:
        import bisect

        i = bisect.bisect_right(self.pseudonyms, after)
        return [(p, "0599") for p in self.pseudonyms[i : i + limit]]

    async def set_municipality(self, pseudonym: str, code: str, moved_out: bool, now: datetime) -> int:
        return 1

    async def parents_of(self, pseudonyms: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return {}

    async def set_parents(self, pseudonym: str, parents: Sequence[str], now: datetime) -> int:
        return 1


async def run_recheck(address: str, pseudonyms: list[str], batch: int) -> recheck.RecheckCounts:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)

        async def facts_of(ps: list[str]) -> list[pb.PersonFacts]:
            reply = await stub.GetPersonFacts(pb.GetPersonFactsRequest(pseudonyms=ps), timeout=300)
            return list(reply.facts)

        async def end_deceased(p: str) -> int:
            return 0

        settings = recheck.RecheckSettings(batch_size=batch, rate=0, region_municipalities=("0599",))
        return await recheck.run(
            People(pseudonyms), facts_of, end_deceased, settings, lambda: datetime.now(UTC)
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    bsns = valid_bsns(args.people)
    kek = os.urandom(32)
    pg = EmbeddedPostgres(ROOT / ".cache" / "bench-pg", throwaway=True).start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url = pg.create_database("bench_brp", drop_existing=True)
        migrate(url, MIGRATIONS)
        brp_port, id_port = free_port(), free_port()
        procs.append(start_brp(brp_port))
        brp_url = f"http://127.0.0.1:{brp_port}/haalcentraal/api/brp"
        procs.append(
            start_identity(url, id_port, kek, SLUIS_BRP_URL=brp_url, SLUIS_BRP_READ_TIMEOUT_SECONDS="30")
        )

        sessions = [requests.Session() for _ in range(4)]
        for session in sessions:
            session.headers["Content-Type"] = "application/json; charset=utf-8"

        def raw(i: int, n: int) -> int:
            chunk = [bsns[(n * 80 + i * 20 + j) % len(bsns)] for j in range(20)]
            sessions[i].post(brp_url + "/personen", json=query(chunk), timeout=30).raise_for_status()
            return 20

        raw_people = run_threads(4, args.seconds, raw)
        raw_rate = raw_people / args.seconds

        asyncio.run(fill_vault(url, kek, bsns))
        with grpc.insecure_channel(f"127.0.0.1:{id_port}") as channel:
            stub = pb_grpc.IdentityServiceStub(channel)
            pseudonyms = [
                r.pseudonym
                for i in range(0, len(bsns), 5000)
                for r in stub.PseudonymiseBatch(
                    pb.PseudonymiseBatchRequest(bsns=bsns[i : i + 5000]), timeout=120
                ).results
            ]
        start = time.perf_counter()
        counts = asyncio.run(run_recheck(f"127.0.0.1:{id_port}", pseudonyms, args.batch))
        took = time.perf_counter() - start
        assert counts.checked == len(bsns) and counts.unknown == 0, counts
        rate = counts.checked / took
        print(f"re-check: {counts.checked:,} people in {took:.1f} s = {rate:,.0f} people/s")
        print(f"baseline: local BRP alone (20 BSNs/request, 4 threads): {raw_rate:,.0f} people/s")
        print(f"ratio: {rate / raw_rate:.2f}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        pg.stop()


if __name__ == "__main__":
    main()
