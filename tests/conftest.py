"""Cross-service tests: the real platform as processes (PostgreSQL, Redis, SMTP, 5 services)."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devstack.platform import Platform

# Valid BSNs (11-test) used by the tests; the privacy test searches every table and log for them.
BSNS = [
    "111222333",
    "123456782",
    "999999990",
    "100000009",
    "100000010",
]


def valid_bsns(n: int, start: int = 200_000_000) -> list[str]:
    """n distinct valid BSNs (deterministic)."""
    out: list[str] = []
    candidate = start
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    while len(out) < n:
        digits = f"{candidate:09d}"
        if sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0:
            out.append(digits)
        candidate += 1
    return out


def wait_until(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll until `check()` is truthy; return its value or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last: {last!r})")


class Api:
    """A thin REST client for one credential."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=30, **kw)

    def signal(self, bsn: str, birth_date: str = "1990-04-12", **overrides: Any) -> requests.Response:
        body: dict[str, Any] = {
            "bsn": bsn,
            "birthDate": birth_date,
            "multiProblemAttested": True,
            "consentGiven": True,
            "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
        }
        body.update(overrides)
        return self.post("/v1/signals", body)


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # A test module may set PLATFORM_OPTIONS, e.g. {"brp": True} for the local BRP (issue 18).
    p = Platform(tmp_path_factory.mktemp("platform"), **getattr(request.module, "PLATFORM_OPTIONS", {}))
    try:
        p.start()
        p.demo = p.seed_demo()  # type: ignore[attr-defined]
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def professionals(platform: Platform) -> list[dict[str, Any]]:
    return list(platform.demo["professionals"])  # type: ignore[attr-defined]


def by_org(professionals: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in professionals:
        out.setdefault(p["organisation"], []).append(p)
    return out
