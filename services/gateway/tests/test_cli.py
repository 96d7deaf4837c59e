"""`python -m services.gateway migrate | seed-demo | serve` as real processes (gunicorn)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

from devstack.redis import free_port

ROOT = Path(__file__).resolve().parents[3]


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'build' / 'gen'}",
        "SLUIS_REGION": "cli",
        "SLUIS_DATABASE_URL": url,
        "SLUIS_LOG_LEVEL": "WARNING",
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.gateway", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_then_seed_demo_is_idempotent(new_database) -> None:
    url = new_database("gwcli")
    assert run(["migrate"], env_for(url)).returncode == 0
    first = run(["seed-demo"], env_for(url))
    assert first.returncode == 0, first.stderr
    demo = json.loads(first.stdout)
    assert len(demo["professionals"]) == 6
    assert {p["organisation"] for p in demo["professionals"]} == {
        "Wijkteam Noord",
        "Kredietbank",
        "Politie — wijkagent",
    }
    assert {a["role"] for a in demo["admins"]} == {"organisationAdmin", "regionAdmin"}
    assert len(demo["admins"]) == 4
    second = json.loads(run(["seed-demo"], env_for(url)).stdout)
    assert second == demo
    with psycopg.connect(url) as conn:
        keys = [bytes(r[0]) for r in conn.execute("SELECT key_hash FROM api_credentials")]
        assert len(keys) == 10
        assert all(len(k) == 32 for k in keys)
        # Stored hashed: no demo key in clear anywhere in the table.
        dump = str(conn.execute("SELECT * FROM api_credentials").fetchall())
        assert all(p["apiKey"] not in dump for p in demo["professionals"])


def test_bad_command_and_missing_config_exit_2(new_database) -> None:
    url = new_database("gwcli")
    assert run(["dance"], env_for(url)).returncode == 2
    missing = run(["serve"], env_for(url))
    assert missing.returncode == 2 and "SLUIS_IDENTITY_ADDR" in missing.stderr


def test_serve_with_gunicorn(new_database, fakes) -> None:
    url = new_database("gwcli")
    run(["migrate"], env_for(url))
    demo = json.loads(run(["seed-demo"], env_for(url)).stdout)
    port = free_port()
    env = env_for(
        url,
        SLUIS_HTTP_LISTEN=f"127.0.0.1:{port}",
        SLUIS_HTTP_WORKERS="2",
        SLUIS_IDENTITY_ADDR=fakes.address,
        SLUIS_SIGNAL_ADDR=fakes.address,
        SLUIS_MATCH_ADDR=fakes.address,
        SLUIS_NOTIFY_ADDR=fakes.address,
        SLUIS_SHUTDOWN_GRACE_SECONDS="2",
    )
    proc = subprocess.Popen([sys.executable, "-m", "services.gateway", "serve"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gateway not ready"
            assert proc.poll() is None, "gateway exited"
            time.sleep(0.1)
        key = demo["professionals"][0]["apiKey"]
        body = {
            "bsn": "123456782",
            "birthDate": "1990-04-12",
            "multiProblemAttested": True,
            "consentGiven": True,
            "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
        }
        # Several requests so both workers (each with its own channels and pool) answer.
        statuses = [
            requests.post(
                f"{base}/v1/signals", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
            ).status_code
            for _ in range(4)
        ]
        assert statuses[0] == 201 and set(statuses[1:]) == {409}
        assert requests.get(f"{base}/v1/openapi.json", timeout=5).headers["API-Version"] == "1.0.0"
        # Refused by gunicorn before the app runs, still as problem+json (issue 14, row 5).
        for resp, status in (
            (requests.get(f"{base}/v1/signals?x={'a' * 5000}", timeout=5), 414),
            (requests.get(f"{base}/v1/signals", headers={"X-Big": "a" * 10_000}, timeout=5), 431),
        ):
            assert resp.status_code == status
            assert resp.headers["Content-Type"] == "application/problem+json"
            assert resp.json()["status"] == status
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "gateway not ready"
        assert proc.poll() is None, "gateway exited"
        time.sleep(0.1)


def test_bulk_load_resumes_after_the_bulk_worker_is_killed(new_database, fakes, redis_server) -> None:
    import signal as signals

    from services.gateway.tests.test_bulk import make_file

    url = new_database("gwcli")
    run(["migrate"], env_for(url))
    demo = json.loads(run(["seed-demo"], env_for(url)).stdout)
    port = free_port()
    env = env_for(
        url,
        SLUIS_HTTP_LISTEN=f"127.0.0.1:{port}",
        SLUIS_HTTP_WORKERS="1",
        SLUIS_IDENTITY_ADDR=fakes.address,
        SLUIS_SIGNAL_ADDR=fakes.address,
        SLUIS_MATCH_ADDR=fakes.address,
        SLUIS_NOTIFY_ADDR=fakes.address,
        SLUIS_BULK_CHUNK_ROWS="250",
        SLUIS_BULK_STALE_SECONDS="2",
        # The upload's staging key reaches the separate worker process through Redis.
        SLUIS_REDIS_URL=redis_server.url,
    )
    base = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.gateway", "serve"], env=env, cwd=ROOT, start_new_session=True
        )
        _wait_ready(base, proc)
        return proc

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "services.gateway", "bulk-worker"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )

    proc = start()
    worker = start_worker()
    try:
        admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
        cred = requests.post(
            f"{base}/v1/organisations/{admin['organisationId']}/api-credentials",
            json={"name": "zaaksysteem"},
            headers={"Authorization": f"Bearer {admin['apiKey']}"},
            timeout=10,
        ).json()
        headers = {"Authorization": f"Bearer {cred['apiKey']}"}
        pros = [p["id"] for p in demo["professionals"] if p["organisation"] == "Wijkteam Noord"]
        content, expected = make_file(20_000, pros)
        job = requests.post(
            f"{base}/v1/bulk-loads", data=content, headers={**headers, "Content-Type": "text/csv"}, timeout=60
        ).json()
        deadline = time.monotonic() + 60
        while True:
            state = requests.get(f"{base}/v1/bulk-loads/{job['id']}", headers=headers, timeout=5).json()
            if state["rowsDone"] + state["rowsFailed"] > 0:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert state["state"] == "running", "the load finished before it could be interrupted"
        os.killpg(worker.pid, signals.SIGKILL)  # the bulk-worker process dies mid-load
        worker.wait(10)

        worker = start_worker()
        deadline = time.monotonic() + 120
        while True:
            state = requests.get(f"{base}/v1/bulk-loads/{job['id']}", headers=headers, timeout=5).json()
            if state["state"] == "done":
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["rowsFailed"] == len(expected)
        assert state["rowsDone"] == 20_000 - len(expected)
        assert len(fakes.signal.signals) == state["rowsDone"]
        report = requests.get(f"{base}/v1/bulk-loads/{job['id']}/errors", headers=headers, timeout=10).text
        assert len(report.strip().splitlines()) == len(expected) + 1
    finally:
        for p in (worker, proc):
            if p.poll() is None:
                os.killpg(p.pid, signals.SIGTERM)
                p.wait(30)
