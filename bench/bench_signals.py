"""Issue 2 benchmark: signals per second through the gateway, next to a bare gRPC echo.

Starts the whole platform (real PostgreSQL, Redis, SMTP, five processes), then for a fixed
time registers signals over HTTP with C concurrent clients (unique people, six demo
professionals) and reports signals/s and p50/p99 latency. In the same run it measures a
bare gRPC echo (one tiny aio server process, same concurrency, same duration): the ceiling
of one Python gRPC hop on this machine. The ratio says what the whole path costs.

    .venv/bin/python -m bench.bench_signals [--seconds 20] [--clients 16]
"""

import argparse
import http.client
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from bench.profiling import CpuTime, Profiles
from devstack.platform import ROOT, Platform
from devstack.redis import free_port

ECHO_SERVER = """
import asyncio, grpc, sys
async def main():
    async def echo(request, context):
        return request
    handler = grpc.method_handlers_generic_handler("bench.Echo", {
        "Echo": grpc.unary_unary_rpc_method_handler(echo, request_deserializer=None, response_serializer=None)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("127.0.0.1:" + sys.argv[1])
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()
asyncio.run(main())
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def run_clients(clients: int, seconds: float, work: "callable") -> tuple[int, list[float]]:  # type: ignore[valid-type]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop_at = time.monotonic() + seconds
    errors = [0]

    def loop(i: int) -> None:
        state: dict[str, object] = {}
        n = 0
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            ok = work(i, n, state)
            n += 1
            if ok:
                latencies[i].append(time.perf_counter() - t0)
            else:
                errors[0] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [x for per in latencies for x in per]
    if errors[0]:
        print(f"  ({errors[0]} failed requests)")
    return len(flat), flat


def bench_echo(clients: int, seconds: float) -> tuple[float, list[float]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    echo = channel.unary_unary("/bench.Echo/Echo")
    payload = b"x" * 200

    def work(i: int, n: int, state: dict[str, object]) -> bool:
        return echo(payload, timeout=5) == payload

    try:
        count, lat = run_clients(clients, seconds, work)
    finally:
        channel.close()
        proc.terminate()
    return count / seconds, lat


_next_person = itertools.count(40_000_000)
_person_lock = threading.Lock()


def unique_bsn() -> str:
    """A BSN never used before in this run: 8 digits plus the check digit of the 11-test."""
    while True:
        with _person_lock:
            prefix = f"{next(_next_person):08d}"
        check = sum(int(d) * w for d, w in zip(prefix, (9, 8, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        if check < 10:
            return prefix + str(check)


def bench_gateway(platform: Platform, clients: int, seconds: float) -> tuple[float, list[float]]:
    keys = [p["apiKey"] for p in platform.demo["professionals"]]  # type: ignore[attr-defined]
    port = platform.ports["gateway"]
    statuses: dict[int, int] = {}

    def work(i: int, n: int, state: dict[str, object]) -> bool:
        conn = state.get("conn")
        if conn is None:
            conn = state["conn"] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps(
            {
                "bsn": unique_bsn(),
                "birthDate": "1990-04-12",
                "multiProblemAttested": True,
                "consentGiven": True,
                "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
            }
        )
        headers = {"Authorization": f"Bearer {keys[(n + i) % len(keys)]}", "Content-Type": "application/json"}
        conn.request("POST", "/v1/signals", body, headers)  # type: ignore[attr-defined]
        response = conn.getresponse()  # type: ignore[attr-defined]
        response.read()
        if response.status != 201:
            statuses[response.status] = statuses.get(response.status, 0) + 1
        return bool(response.status == 201)

    count, lat = run_clients(clients, seconds, work)
    if statuses:
        print(f"  refused requests by status: {statuses}")
    return count / seconds, lat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--profile", type=Path, default=None, help="record a py-spy profile of every service into this folder"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for every service, e.g. SLUIS_HTTP_WORKERS=4 (repeatable)",
    )
    args = parser.parse_args()
    env = {"SLUIS_RATE_LIMIT_PER_SECOND": "100000", "SLUIS_RATE_LIMIT_BURST": "100000"}
    env.update(item.split("=", 1) for item in args.env)

    echo_rate, echo_lat = bench_echo(args.clients, args.seconds)
    # The per-credential rate limit (50/s by default) would measure the limiter, not the path.
    workdir = Path(ROOT / ".cache" / "bench-platform")
    shutil.rmtree(workdir, ignore_errors=True)  # fresh databases: every person is new
    platform = Platform(workdir, extra_env=env)
    try:
        platform.start()
        platform.demo = platform.seed_demo()  # type: ignore[attr-defined]
        bench_gateway(platform, args.clients, 2)  # warm-up: pools, caches
        profiles = Profiles(platform, args.profile) if args.profile else None
        if profiles:
            profiles.start(args.seconds)
        cpu = CpuTime(platform).start()
        rate, lat = bench_gateway(platform, args.clients, args.seconds)
        cpu.report(len(lat))
        if profiles:
            profiles.finish()
    finally:
        platform.stop()
    print(f"signals through the gateway ({args.clients} clients, {args.seconds:.0f} s, 2 cores)")
    print(f"  gateway POST /v1/signals : {rate:8.0f} signals/s  p50 {percentile(lat, .5) * 1000:6.1f} ms"
          f"  p99 {percentile(lat, .99) * 1000:6.1f} ms")  # fmt: skip
    print(f"  bare gRPC echo (baseline): {echo_rate:8.0f} calls/s    p50 {percentile(echo_lat, .5) * 1000:6.1f} ms"
          f"  p99 {percentile(echo_lat, .99) * 1000:6.1f} ms")  # fmt: skip
    print(f"  ratio signals/echo       : {rate / echo_rate:8.2f}")
    print(f"  mean latency             : {statistics.mean(lat) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
