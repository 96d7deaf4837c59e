"""Issue 14 row 4 and the database outage test: PostgreSQL stopped for 10 s under load.

While it is down, requests fail fast with 503 problem+json and a Retry-After header (never a
500, never a hang); afterwards the platform recovers by itself, without restarting any
process, and no accepted signal is lost. This module has its own platform and so its own
PostgreSQL server: stopping it does not disturb any other test.
"""

import threading
import time
from collections import Counter

from tests import chaos
from tests.helpers import Api, valid_bsns, wait_until

OUTAGE_SECONDS = 10.0


def test_postgres_down_for_ten_seconds_gives_503_then_full_recovery(platform, professionals) -> None:
    assert platform.pg is not None, "needs the platform's own PostgreSQL"
    pids = {name: proc.pid for name, proc in platform.procs.items()}
    api = Api(platform.url, professionals[0]["apiKey"])
    bsns = iter(valid_bsns(2000, start=700_000_000))
    accepted: list[str] = []
    statuses: Counter[int] = Counter()
    slowest_refusal = 0.0
    problems: list[str] = []
    stop = threading.Event()

    def load() -> None:
        nonlocal slowest_refusal
        while not stop.is_set():
            started = time.monotonic()
            response = api.signal(next(bsns))
            statuses[response.status_code] += 1
            if response.status_code == 201:
                accepted.append(response.json()["id"])
            elif response.status_code == 503:
                slowest_refusal = max(slowest_refusal, time.monotonic() - started)
                if not response.headers.get("Retry-After", "").isdigit():
                    problems.append("503 without Retry-After")
                if not response.headers["Content-Type"].startswith("application/problem+json"):
                    problems.append("503 not problem+json")
            else:
                problems.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(accepted) >= 5)
        platform.pg.halt()
        time.sleep(OUTAGE_SECONDS)
        during = statuses[503]
        platform.pg.resume()
        # Recovery without a restart: registrations succeed again by themselves.
        count = len(accepted)
        wait_until(lambda: len(accepted) >= count + 10, timeout=60)
    finally:
        stop.set()
        for t in threads:
            t.join(60)

    assert not problems, problems[:5]
    assert during > 0, statuses
    assert {name: proc.pid for name, proc in platform.procs.items()} == pids
    assert all(proc.poll() is None for proc in platform.procs.values())

    # No accepted signal was lost, and each is stored once.
    stored = chaos.stored_signals(platform)
    assert set(accepted) <= set(stored) and len(accepted) == len(set(accepted))
    # The back ends caught up too: match received every accepted signal after the outage.
    last = accepted[-1]
    wait_until(lambda: api.get(f"/v1/signals/{last}/involvement").status_code == 200, timeout=60)
    print(
        f"\ndatabase outage {OUTAGE_SECONDS:g} s: {dict(statuses)};"
        f" slowest 503 took {slowest_refusal:.1f} s; {len(accepted)} accepted signals all stored"
    )
