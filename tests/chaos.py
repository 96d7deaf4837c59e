"""Chaos run: steady load through the gateway while a seeded schedule SIGKILLs every service.

Used by tests/test_chaos.py (short, in `make test`) and `make chaos` (long). The platform's
Supervisor restarts killed services with back-off, as Kubernetes would. Each client job is
retried until its outcome is certain (201, or 409 "signal_exists" for a retried
registration that had in fact been stored, or a 4xx refusal), so afterwards the expected
state is known exactly and can be compared with every database and the mailbox.
"""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests

from devstack.platform import SERVICES, Platform, Supervisor
from tests.helpers import valid_bsns

# A job's outcome must become certain within this many seconds after the load ends.
SETTLE_SECONDS = 90.0
TRANSIENT = {500, 502, 503, 504}


@dataclass
class Job:
    kind: str  # "match": several organisations; "lonely": one, then ended; "rejected": 400
    bsn: str
    professionals: list[dict[str, Any]]
    signal_ids: dict[str, str] = field(default_factory=dict)  # email -> signal id
    ended: set[str] = field(default_factory=set)
    refused: int = 0


@dataclass
class ChaosResult:
    seed: int
    kills: list[tuple[float, str]]
    restarts: int
    requests: int
    transient_answers: int
    jobs: list[Job]


def _body(bsn: str, *, valid: bool = True) -> dict[str, Any]:
    return {
        "bsn": bsn,
        "birthDate": "1990-04-12",
        # A refusal the gateway makes after parsing: nothing may be stored for it.
        "multiProblemAttested": valid,
        "consentGiven": True,
        "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
    }


class Client:
    """Retries a request through gateway restarts until the answer is definite."""

    def __init__(self, base: str, deadline: list[float]) -> None:
        self.base = base
        self.deadline = deadline  # [monotonic time]; shared so the runner can extend it
        self.requests = 0
        self.transient = 0
        self._lock = threading.Lock()

    def _count(self, transient: bool) -> None:
        with self._lock:
            self.requests += 1
            self.transient += transient

    def post(self, key: str, path: str, body: Any) -> requests.Response:
        while True:
            try:
                response = requests.post(
                    self.base + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
                )
            except requests.RequestException:
                self._count(True)
            else:
                transient = response.status_code in TRANSIENT
                self._count(transient)
                if not transient:
                    return response
            if time.monotonic() > self.deadline[0]:
                raise AssertionError(f"no definite answer for POST {path} before the deadline")
            time.sleep(0.2)


def _register(client: Client, job: Job, pro: dict[str, Any]) -> None:
    response = client.post(pro["apiKey"], "/v1/signals", _body(job.bsn, valid=job.kind != "rejected"))
    if job.kind == "rejected":
        assert response.status_code == 400, response.text
        job.refused += 1
        return
    if response.status_code == 201:
        job.signal_ids[pro["email"]] = response.json()["id"]
        return
    # A retry of a registration that was stored before the gateway (or signal) died.
    assert response.status_code == 409, response.text
    doc = response.json()
    assert doc["code"] == "signal_exists", doc
    job.signal_ids[pro["email"]] = doc["existingSignal"]["href"].rsplit("/", 1)[-1]


def _end(client: Client, job: Job, pro: dict[str, Any]) -> None:
    sid = job.signal_ids[pro["email"]]
    response = client.post(pro["apiKey"], f"/v1/signals/{sid}/end", {"reason": "goalReached"})
    # 200/204: ended now; 409: ended by an earlier attempt whose answer was lost.
    assert response.status_code in (200, 204, 409), response.text
    job.ended.add(sid)


def run_job(client: Client, job: Job) -> None:
    for pro in job.professionals:
        _register(client, job, pro)
    if job.kind == "lonely":
        _end(client, job, job.professionals[0])


def make_jobs(rng: random.Random, professionals: list[dict[str, Any]], count: int, start: int) -> list[Job]:
    orgs: dict[str, list[dict[str, Any]]] = {}
    for p in professionals:
        orgs.setdefault(p["organisation"], []).append(p)
    bsns = valid_bsns(count, start=start)
    jobs: list[Job] = []
    for i, bsn in enumerate(bsns):
        roll = rng.random()
        if i % 8 == 3:  # a refused request early and regularly, however little load gets through
            jobs.append(Job("rejected", bsn, [rng.choice(professionals)]))
        elif roll < 0.6:
            chosen_orgs = rng.sample(sorted(orgs), k=min(len(orgs), rng.choice((2, 3))))
            pros = [rng.choice(orgs[o]) for o in chosen_orgs]
            jobs.append(Job("match", bsn, pros))
        elif roll < 0.85:
            jobs.append(Job("lonely", bsn, [rng.choice(professionals)]))
        else:
            jobs.append(Job("rejected", bsn, [rng.choice(professionals)]))
    return jobs


def run(
    platform: Platform,
    professionals: list[dict[str, Any]],
    *,
    seed: int,
    seconds: float,
    workers: int = 4,
    bsn_start: int = 500_000_000,
) -> ChaosResult:
    rng = random.Random(seed)
    # Every service killed at least once per 20 s of load, at seeded random moments.
    rounds = max(1, int(seconds // 20))
    schedule = sorted(
        (rng.uniform(0.05, 0.85) * seconds, service) for _ in range(rounds) for service in SERVICES
    )
    jobs = make_jobs(rng, professionals, count=int(seconds * 12) + 20, start=bsn_start)
    supervisor = Supervisor(platform, base=0.2, cap=2.0)
    stop = threading.Event()

    def supervise() -> None:
        while not stop.wait(0.1):
            supervisor.poll()

    watcher = threading.Thread(target=supervise, daemon=True)
    watcher.start()
    started = time.monotonic()
    deadline = [started + seconds + SETTLE_SECONDS]
    client = Client(platform.url, deadline)
    kills: list[tuple[float, str]] = []
    done: list[Job] = []
    queue = iter(jobs)
    queue_lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() - started < seconds:
            with queue_lock:
                job = next(queue, None)
            if job is None:
                return
            run_job(client, job)
            with queue_lock:
                done.append(job)

    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(worker) for _ in range(workers)]
            for at, service in schedule:
                time.sleep(max(0.0, started + at - time.monotonic()))
                proc = platform.procs.get(service)
                if proc is not None and proc.poll() is None:
                    platform.crash(service)
                    kills.append((round(time.monotonic() - started, 2), service))
            for f in futures:
                f.result()
        # Let every killed service come back before the checks.
        settle_until = time.monotonic() + SETTLE_SECONDS
        while not supervisor.settled():
            assert time.monotonic() < settle_until, "services did not come back"
            time.sleep(0.2)
    finally:
        stop.set()
        watcher.join(5)
    return ChaosResult(seed, kills, supervisor.restarts, client.requests, client.transient, done)


# --- checks ------------------------------------------------------------------------------


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(query.encode()).fetchall())


def stored_signals(platform: Platform) -> dict[str, str]:
    """signal id -> status, in the signal database."""
    return dict(_rows(platform.database_urls["signal"], "SELECT signal_id::text, status FROM signals"))


def match_members(platform: Platform) -> dict[str, set[str]]:
    """match id -> signal ids of its current members, in the match database."""
    members: dict[str, set[str]] = {}
    for match_id, signal_id in _rows(
        platform.database_urls["match"],
        "SELECT match_id::text, signal_id FROM match_members WHERE left_at IS NULL",
    ):
        members.setdefault(match_id, set()).add(signal_id)
    return members
