"""Issue 7 benchmark: a bulk load end to end (upload, validate, pseudonymise, store, match)
next to a raw PostgreSQL COPY of the same rows, in the same run on the same server.

Starts the whole platform, loads a smaller overlapping file for a second organisation first
(so the timed load makes matches), then times the main load from upload until the job is
done and the signal and match outboxes are drained (every match computed and announced).

    .venv/bin/python -m bench.bench_gateway_bulk [--rows 1000000] [--overlap 0.1]
Aim (issue 7): 1,000,000 rows in at most 3 minutes on 2 cores.
"""

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import requests

from bench.profiling import CpuTime, RssWatch
from devstack.platform import running

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
HEADER = "bsn,birthDate,professionalId,informedParty,informedMethod,informedOn,postponeReason,multiProblemAttested,consentGiven"


def valid_bsns(n: int) -> list[str]:
    out: list[str] = []
    base = 10_000_000
    while len(out) < n:
        digits = f"{base:08d}"
        check = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11
        if check < 10:
            out.append(digits + str(check))
        base += 1
    return out


def csv_of(bsns: list[str], professionals: list[str]) -> bytes:
    lines = [HEADER]
    for i, bsn in enumerate(bsns):
        lines.append(
            f"{bsn},1990-01-01,{professionals[i % len(professionals)]},person,letter,2026-01-02,,true,true"
        )
    return ("\n".join(lines) + "\n").encode()


def pending(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    return int(row[0]) if row else 0


def load(base: str, key: str, content: bytes, timeout: float = 3600) -> tuple[dict, float]:
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}"}
    job = requests.post(
        f"{base}/v1/bulk-loads", data=content, headers={**headers, "Content-Type": "text/csv"}, timeout=600
    ).json()
    deadline = time.monotonic() + timeout
    while True:
        state = requests.get(f"{base}/v1/bulk-loads/{job['id']}", headers=headers, timeout=30).json()
        if state["state"] in ("done", "failed"):
            return state, time.perf_counter() - started
        if time.monotonic() > deadline:
            raise SystemExit(f"bulk load not done after {timeout} s: {state}")
        time.sleep(0.5)


def system_key(base: str, admin: dict) -> str:
    resp = requests.post(
        f"{base}/v1/organisations/{admin['organisationId']}/api-credentials",
        json={"name": "bench"},
        headers={"Authorization": f"Bearer {admin['apiKey']}"},
        timeout=10,
    )
    return str(resp.json()["apiKey"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--overlap", type=float, default=0.1, help="share of people also known at a second organisation"
    )
    parser.add_argument(
        "--chunk-rows", type=int, default=0, help="SLUIS_BULK_CHUNK_ROWS (default: the gateway's own)"
    )
    args = parser.parse_args()
    env = {"SLUIS_RATE_LIMIT_BURST": "100000", "SLUIS_HTTP_WORKERS": "2"}
    if args.chunk_rows:
        env["SLUIS_BULK_CHUNK_ROWS"] = str(args.chunk_rows)

    bsns = valid_bsns(args.rows)
    with (
        tempfile.TemporaryDirectory() as workdir,
        running(Path(workdir), extra_env=env) as platform,
    ):
        demo: Any = platform.seed_demo()
        memory = RssWatch(platform).start()  # issue 21: every service under 150 MB
        admins = {a["organisation"]: a for a in demo["admins"] if a["organisation"]}
        pros = {
            org: [p["id"] for p in demo["professionals"] if p["organisation"] == org]
            for org in ("Wijkteam Noord", "Kredietbank")
        }
        other = bsns[: int(len(bsns) * args.overlap)]
        if other:
            state, seconds = load(
                platform.url,
                system_key(platform.url, admins["Kredietbank"]),
                csv_of(other, pros["Kredietbank"]),
            )
            print(
                f"  warm-up: {len(other):,} rows for a second organisation in {seconds:.1f} s ({state['state']})"
            )

        content = csv_of(bsns, pros["Wijkteam Noord"])
        key = system_key(platform.url, admins["Wijkteam Noord"])
        cpu = CpuTime(platform).start()
        started = time.perf_counter()
        state, job_seconds = load(platform.url, key, content)
        while pending(platform.database_urls["signal"], "outbox") or pending(
            platform.database_urls["match"], "outbox"
        ):
            time.sleep(0.5)
        total = time.perf_counter() - started
        with psycopg.connect(platform.database_urls["match"]) as conn:
            row = conn.execute("SELECT count(*) FROM matches").fetchone()
            matches = int(row[0]) if row else 0

        memory.report()
        cpu.report(args.rows, "row", 1000)
        stages = [line for line in platform.logs().splitlines() if "bulk load done" in line]
        # Baseline: the same file COPYed raw into one table on the same server.
        admin_url = platform.database_urls["gateway"]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_raw_copy")
            conn.execute(
                "CREATE UNLOGGED TABLE bench_raw_copy (bsn text, birth_date date, professional_id uuid,"
                " informed_party text, informed_method text, informed_on date, postpone_reason text,"
                " multi_problem boolean, consent boolean)"
            )
            t0 = time.perf_counter()
            with conn.cursor().copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(content)
            copy_seconds = time.perf_counter() - t0
            conn.execute("DROP TABLE bench_raw_copy")

    rows = args.rows
    if stages:
        print(f"  gateway stages: {stages[-1]}")
    print(f"bulk load of {rows:,} rows ({len(content) / 1e6:.1f} MB CSV), state {state['state']}:")
    print(f"  rows done {state['rowsDone']:,}, failed {state['rowsFailed']:,}, matches {matches:,}")
    print(f"  job done after       {job_seconds:8.1f} s  ({rows / job_seconds:,.0f} rows/s)")
    print(
        f"  matches settled after {total:8.1f} s  ({rows / total:,.0f} rows/s)   aim: <= 180 s for 1,000,000 rows"
    )
    print(
        f"  baseline raw COPY    {copy_seconds:8.1f} s  ({rows / copy_seconds:,.0f} rows/s)  -> x{total / copy_seconds:,.0f}"
    )


if __name__ == "__main__":
    main()
