"""Issue 3 benchmark: pseudonyms per second through the identity service, next to raw libsodium.

Starts embedded PostgreSQL and the real identity service as its own process (as in
production: one asyncio process per replica), then measures over real gRPC:
- single: Pseudonymise, one BSN per call, C client threads;
- batched: PseudonymiseBatch of B BSNs per call (the bulk-load path), 2 client threads so
  the service never waits for the next batch;
and, in the same run, the raw rbcl rate of the work one pseudonym needs (SHA-512,
ristretto255 from_hash, scalar multiplication) on one core. The service is one process on
one core, so raw single-core libsodium is its ceiling; the aim is batched >= 50% of raw.

    .venv/bin/python -m bench.bench_identity [--seconds 10] [--clients 8] [--batch 1000]
"""

import argparse
import base64
import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import rbcl
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from devstack.postgres import EmbeddedPostgres
from devstack.redis import free_port
from services.common.db import migrate
from services.identity.server import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def valid_bsns(count: int, start: int = 20_000_000) -> list[str]:
    out: list[str] = []
    head = start
    while len(out) < count:
        digits = f"{head:08d}"
        last = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11
        if last < 10:
            out.append(digits + str(last))
        head += 1
    return out


def raw_rate(bsns: list[str], seconds: float) -> float:
    """What libsodium alone does per second on one core: hash, map to the group, multiply."""
    k = bytes(rbcl.crypto_core_ristretto255_scalar_random())
    tag = b"sluis/bsn-to-ristretto255/v1:"
    from_hash, mult, sha512 = (
        rbcl.crypto_core_ristretto255_from_hash,
        rbcl.crypto_scalarmult_ristretto255,
        hashlib.sha512,
    )
    done, stop_at = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < stop_at:
        for bsn in bsns[:1000]:
            mult(k, from_hash(sha512(tag + bsn.encode()).digest()))
        done += 1000
    return done / (time.perf_counter() - started)


def run_threads(threads: int, seconds: float, work) -> int:
    counts = [0] * threads
    stop_at = time.monotonic() + seconds

    def loop(i: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            counts[i] += work(i, n)
            n += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts)


def start_identity(url: str, port: int, kek: bytes | None = None, **extra: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        SLUIS_REGION="bench",
        SLUIS_DATABASE_URL=url,
        SLUIS_GRPC_LISTEN=f"127.0.0.1:{port}",
        SLUIS_IDENTITY_KEK=base64.b64encode(kek or os.urandom(32)).decode(),
        **extra,
    )
    subprocess.run([sys.executable, "-m", "services.identity", "init"], env=env, cwd=ROOT, check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.identity", "serve"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return proc
            except grpc.RpcError:
                time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("identity did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    bsns = valid_bsns(50_000)

    pg = EmbeddedPostgres(ROOT / ".cache" / "bench-pg", throwaway=True).start()
    url = pg.create_database("bench_identity", drop_existing=True)
    migrate(url, MIGRATIONS)
    port = free_port()
    proc = start_identity(url, port)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = pb_grpc.IdentityServiceStub(channel)

    def single(i: int, n: int) -> int:
        stub.Pseudonymise(pb.PseudonymiseRequest(bsn=bsns[(n * args.clients + i) % len(bsns)]), timeout=10)
        return 1

    def batched(i: int, n: int) -> int:
        start = ((n * 2 + i) * args.batch) % (len(bsns) - args.batch)
        response = stub.PseudonymiseBatch(
            pb.PseudonymiseBatchRequest(bsns=bsns[start : start + args.batch]), timeout=30
        )
        return len(response.results)

    try:
        run_threads(2, 1, batched)  # warm-up
        single_rate = run_threads(args.clients, args.seconds, single) / args.seconds
        batch_rate = run_threads(2, args.seconds, batched) / args.seconds
    finally:
        channel.close()
        proc.terminate()
        proc.wait(10)
        pg.stop()
    raw = raw_rate(bsns, args.seconds)  # after the service is gone: a core to itself, like it had

    print(f"pseudonyms per second ({args.seconds:.0f} s each, {os.cpu_count()} cores shared)")
    print(f"  raw libsodium (sha512+from_hash+scalarmult), 1 core  : {raw:8.0f} /s   (baseline)")
    print(f"  service, Pseudonymise, {args.clients:2d} client threads             : {single_rate:8.0f} /s   "
          f"= {single_rate / raw:5.1%} of raw")  # fmt: skip
    print(f"  service, PseudonymiseBatch of {args.batch:5d}, 2 threads         : {batch_rate:8.0f} /s   "
          f"= {batch_rate / raw:5.1%} of raw (aim >= 50%)")  # fmt: skip


if __name__ == "__main__":
    main()
