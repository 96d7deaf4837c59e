"""Issue 18 across services: a sibling who turns 18 leaves the family match.

The platform's processes run on the real clock, so this test builds the region in-process,
as tests/test_time_travel.py does, with ONE injected FrozenClock: the local BRP
(devstack/brp.py), identity with its BRP link, signal, match and notify (real gRPC between
them, each its own PostgreSQL database, mails over real SMTP) and the gateway's Flask app
(the REST API, called through its WSGI test client, its own database, real gRPC to the
back ends). Registrations go through the REST API and identity checks them against the BRP.

What makes a child leave is match's family refresh job (`refresh_families` in
services/match/server.py, every SLUIS_MATCH_FAMILY_REFRESH_SECONDS): it re-decides every open
family match on the Dutch calendar date. Here it runs in the background every 0.2 s and the
test only moves the clock; nothing calls RefreshFamilies to make the change. The BRP re-check
(services/signal/recheck.py) is not the trigger: the BRP still lists the same parents.

The BRP's family De Boer: parents 999990019 and 999990020, children 999990032 (2012-05-04),
999990044 (2015-09-30) and 999990056 (2008-12-10, 18 on 2026-12-10).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
from sluis.match.v1 import match_pb2, match_pb2_grpc
from sluis.signal.v1 import signal_pb2, signal_pb2_grpc

from devstack.brp import BrpServer
from devstack.mailbox import Mailbox
from services.common.clock import FrozenClock
from services.gateway.app import create_app
from services.gateway.backends import Backends
from services.gateway.demo import seed_demo
from services.gateway.server import MIGRATIONS as GATEWAY_MIGRATIONS
from services.gateway.settings import GatewaySettings
from services.gateway.tests.conftest import close_app
from services.identity.brp import BrpSettings
from services.identity.server import MIGRATIONS as IDENTITY_MIGRATIONS
from services.identity.server import IdentitySettings
from services.identity.server import create_service as create_identity
from services.identity.store import initialise_keys
from services.match.server import MIGRATIONS as MATCH_MIGRATIONS
from services.notify.server import MIGRATIONS as NOTIFY_MIGRATIONS
from services.signal.server import MIGRATIONS as SIGNAL_MIGRATIONS
from tests.helpers import by_org, wait_until
from tests.inprocess import start_back_ends

KEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 test bytes
# 23:30 in Amsterdam on the eve of the 18th birthday of 999990056, then 00:30 on the day.
EVE = datetime(2026, 12, 9, 22, 30, tzinfo=UTC)
BIRTHDAY = datetime(2026, 12, 9, 23, 30, tzinfo=UTC)
REGISTERED = EVE - timedelta(days=8)
SIBLING, TURNS_18, YOUNGEST, PARENT = (
    ("999990032", "2012-05-04"),
    ("999990056", "2008-12-10"),
    ("999990044", "2015-09-30"),
    ("999990019", "1980-03-15"),
)


@dataclass
class Professional:
    name: str
    email: str
    key: str


@dataclass
class Region:
    clock: FrozenClock
    client: Any  # the gateway's Flask test client
    mailbox: Mailbox
    match_addr: str
    signal_addr: str
    professionals: list[Professional]  # one per demo organisation

    def call(self, method: str, path: str, who: Professional, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {who.key}"}
        return self.client.open("/v1" + path, method=method, json=body, headers=headers)

    def register(self, who: Professional, bsn: str, born: str) -> str:
        """A registration every organisation's profile accepts at this age (issue 22)."""
        today = self.clock.now().date()
        birth = date.fromisoformat(born)
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        told = {"method": "inPerson", "informedOn": today.isoformat()}
        informed: dict[str, Any] = {"person": told} if age >= 12 else {}
        if age < 18:
            informed["legalRepresentative"] = told
        body = {
            "bsn": bsn,
            "birthDate": born,
            "multiProblemAttested": True,
            "consentGiven": False,
            "consentBy": "legalRepresentative" if age < 16 else "person",
            "informed": informed,
        }
        r = self.call("POST", "/signals", who, body)
        assert r.status_code == 201, r.get_json()
        return str(r.get_json()["id"])

    def family_matches(self, who: Professional) -> list[dict[str, Any]]:
        r = self.call("GET", "/matches", who)
        assert r.status_code == 200, r.get_json()
        return [m for m in r.get_json()["matches"] if m["kind"] == "family"]

    def members(self, who: Professional) -> list[list[str]]:
        """The names of the members of each family match the professional is in."""
        return [sorted(m["name"] for m in f["members"]) for f in self.family_matches(who)]

    def inbox_kinds(self, who: Professional) -> list[str]:
        r = self.call("GET", "/inbox", who)
        assert r.status_code == 200, r.get_json()
        return sorted(i["kind"] for i in r.get_json()["items"])

    def mails_to(self, who: Professional) -> list[str]:
        return [m.text() for m in self.mailbox.to(who.email)]

    def refresh_families(self) -> int:
        with grpc.insecure_channel(self.match_addr) as channel:
            stub = match_pb2_grpc.MatchServiceStub(channel)
            return stub.RefreshFamilies(match_pb2.RefreshFamiliesRequest(), timeout=30).changed

    def recheck(self) -> Any:
        with grpc.insecure_channel(self.signal_addr) as channel:
            stub = signal_pb2_grpc.SignalServiceStub(channel)
            return stub.RecheckPeople(signal_pb2.RecheckPeopleRequest(), timeout=60)


@pytest.fixture
def region(new_database, run_service, smtp_server, mailbox: Mailbox) -> Iterator[Region]:
    clock = FrozenClock(REGISTERED)
    brp = BrpServer().start()
    urls = {
        "identity": new_database("identity", IDENTITY_MIGRATIONS),
        "signal": new_database("signal", SIGNAL_MIGRATIONS),
        "match": new_database("match", MATCH_MIGRATIONS),
        "notify": new_database("notify", NOTIFY_MIGRATIONS),
        "gateway": new_database("gateway", GATEWAY_MIGRATIONS),
    }
    identity_settings = IdentitySettings(
        region="test", database_url=urls["identity"], grpc_listen="127.0.0.1:0", kek=KEK
    )
    initialise_keys(urls["identity"], identity_settings.kek_bytes())
    link = BrpSettings(url=brp.url, read_timeout_seconds=5.0, breaker_failures=100)
    identity = run_service(lambda: create_identity(identity_settings, clock=clock, brp=link))
    # match's family refresh job is what is under test (hourly in production)
    started = start_back_ends(
        run_service, urls, clock, smtp_server.port, identity_addr=identity.address, family_refresh_seconds=0.2
    )
    signal, match, notify = started["signal"], started["match"], started["notify"]
    demo = seed_demo(urls["gateway"], "test")
    settings = GatewaySettings(
        region="test",
        database_url=urls["gateway"],
        identity_addr=identity.address,
        signal_addr=signal.address,
        match_addr=match.address,
        notify_addr=notify.address,
        rpc_timeout_seconds=10.0,
        log_level="WARNING",
    )
    app = create_app(settings, Backends.from_settings(settings), clock=clock)
    orgs = list(by_org(demo["professionals"]).values())
    pros = [Professional(o[0]["name"], o[0]["email"], o[0]["apiKey"]) for o in orgs[:3]]
    try:
        yield Region(clock, app.test_client(), mailbox, match.address, signal.address, pros)
    finally:
        close_app(app)
        brp.stop()


def settles(check: Callable[[], Any]) -> Any:
    return wait_until(check, timeout=30)


def test_a_sibling_who_turns_18_leaves_the_family_match(region: Region) -> None:
    a, b, c = region.professionals
    region.register(a, *SIBLING)
    region.register(b, *TURNS_18)  # 17 today
    region.register(c, *YOUNGEST)
    everyone = sorted(p.name for p in (a, b, c))
    for p in (a, b, c):
        assert settles(lambda p=p: region.members(p) == [everyone])
    (match,) = region.family_matches(a)
    settles(lambda: all(region.inbox_kinds(p) for p in (a, b, c)))  # told of the new match

    # The eve of the birthday (23:30 in Amsterdam): still a child, nothing changes.
    region.clock.set(EVE)
    assert region.refresh_families() == 0
    assert region.members(b) == [everyone]

    # 00:30 on the birthday: the refresh job (not called here) lets the 18-year-old leave.
    region.clock.set(BIRTHDAY)
    settles(lambda: region.family_matches(b) == [])
    (after,) = region.family_matches(a)
    assert after["id"] == match["id"] and after["status"] == "open"
    assert region.members(a) == region.members(c) == [sorted([a.name, c.name])]
    assert region.call("GET", f"/matches/{match['id']}", b).status_code == 404
    # Told as for any leaver: the others that b left, b that they are no longer in it.
    for p in (a, c):
        settles(lambda p=p: "member_left" in region.inbox_kinds(p))
        settles(lambda p=p: any(b.name in text for text in region.mails_to(p)))
    settles(lambda: "member_left" in region.inbox_kinds(b))
    settles(lambda: any("niet meer betrokken" in text for text in region.mails_to(b)))
    # The BRP re-check is not what did it: the BRP's parents did not change.
    counts = region.recheck()
    assert counts.checked == 3 and counts.family_changed == 0 and counts.moved_out == 0
    assert region.refresh_families() == 0  # done once, not again


def test_the_family_match_closes_when_fewer_than_two_organisations_remain(region: Region) -> None:
    a, b, _ = region.professionals
    region.register(a, *PARENT)
    region.register(b, *TURNS_18)
    (match,) = settles(lambda: region.family_matches(a))
    assert [m["id"] for m in settles(lambda: region.family_matches(b))] == [match["id"]]

    region.clock.set(BIRTHDAY)
    settles(lambda: region.family_matches(a) == [] and region.family_matches(b) == [])
    for p in (a, b):
        assert region.call("GET", f"/matches/{match['id']}", p).status_code == 404
        settles(lambda p=p: "match_closed" in region.inbox_kinds(p))
        settles(lambda p=p: len(region.mails_to(p)) >= 2)  # the new match, then its closing
    # A new signal of a third organisation on the parent's other child makes a new family
    # match again (the adult child no longer counts), never the closed one reopened.
    c = region.professionals[2]
    region.register(c, *SIBLING)
    (again,) = settles(lambda: region.family_matches(c))
    assert again["id"] != match["id"]
    assert sorted(m["name"] for m in again["members"]) == sorted([a.name, c.name])
    assert region.family_matches(b) == []
