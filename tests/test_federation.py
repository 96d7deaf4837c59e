"""Issue 19: cross-region matches between two real regional platforms (devstack/federation.py).

Rotterdam and Gelderland-Midden each run the whole platform (own PostgreSQL, Redis, SMTP,
keys, identity exchange key); their match services are linked by mutual TLS with pinned
certificates from a local federation CA.
"""

import asyncio
import statistics
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from sluis.federation.v1 import federation_pb2 as fpb
from sluis.identity.v1 import identity_pb2, identity_pb2_grpc
from sluis.match.v1 import match_pb2, match_pb2_grpc

from devstack.certs import make_ca
from devstack.federation import (
    Federation,
    exchange_stub,
    exchange_tokens,
    probe_exchange,
    region_certificate,
    running_with_demo,
)
from devstack.platform import Platform
from services.common.errors import Unavailable
from services.match.federation import parse_peering
from services.match.federation_link import PeerClient, TlsFiles
from tests.helpers import Api, by_org, valid_bsns, wait_until

ROTTERDAM, GELDERLAND = "rotterdam", "gelderland-midden"


@pytest.fixture(scope="module")
def federation() -> Iterator[Federation]:
    with running_with_demo() as fed:
        yield fed


def pros(p: Platform, org: int, n: int = 0) -> dict[str, Any]:
    """Demo professional n of organisation org (3 organisations of 2: each test its own)."""
    return list(by_org(p.demo["professionals"]).values())[org][n]  # type: ignore[attr-defined]


def api(p: Platform, org: int, n: int = 0) -> Api:
    return Api(p.url, pros(p, org, n)["apiKey"])


def region_admin(p: Platform) -> Api:
    admin = next(a for a in p.demo["admins"] if a["role"] == "regionAdmin")  # type: ignore[attr-defined]
    return Api(p.url, admin["apiKey"])


def cross(a: Api) -> list[dict[str, Any]]:
    return [m for m in a.get("/v1/matches").json()["matches"] if m["kind"] == "cross-region"]


def cross_with(a: Api, email: str) -> dict[str, Any] | None:
    """The caller's cross-region match that names the professional with this e-mail."""
    return next((m for m in cross(a) if any(x["email"] == email for x in m["members"])), None)


def signal(a: Api, bsn: str, born: str = "1990-04-12") -> str:
    r = a.signal(bsn, born)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def table(p: Platform, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(p.database_urls["match"]) as conn:
        return conn.execute(query, params).fetchall()


def processing_log(p: Platform, bsn: str) -> list[Any]:
    with grpc.insecure_channel(p.address("identity")) as channel:
        pseudonym = (
            identity_pb2_grpc.IdentityServiceStub(channel)
            .Pseudonymise(identity_pb2.PseudonymiseRequest(bsn=bsn))
            .pseudonym
        )
    with grpc.insecure_channel(p.address("match")) as channel:
        reply = match_pb2_grpc.MatchServiceStub(channel).ListProcessingLog(
            match_pb2.ListProcessingLogRequest(pseudonym=pseudonym)
        )
    return list(reply.lines)


def test_cross_region_match_both_sides_and_lifecycle(federation: Federation) -> None:
    rdam, gm = federation.regions[ROTTERDAM], federation.regions[GELDERLAND]
    r_pro, g_pro = pros(rdam, 0), pros(gm, 0)
    r_api, g_api = api(rdam, 0), api(gm, 0)
    (bsn,) = valid_bsns(1, start=611_000_000)
    r_signal = signal(r_api, bsn)
    signal(g_api, bsn)
    # Both see a cross-region match with each other's contact details.
    r_match = wait_until(partial(cross_with, r_api, g_pro["email"]))
    g_match = wait_until(partial(cross_with, g_api, r_pro["email"]))
    assert r_match["status"] == g_match["status"] == "open"
    theirs = next(m for m in r_match["members"] if m["email"] == g_pro["email"])
    assert theirs["name"] == g_pro["name"] and theirs["organisation"]["id"].startswith(f"{GELDERLAND}/")
    assert {m["email"] for m in r_match["members"]} == {m["email"] for m in g_match["members"]}
    # One coordinator across the border: the region of the first signal (Rotterdam) chose.
    assert r_match["coordinator"]["email"] == g_match["coordinator"]["email"] == r_pro["email"]
    # Both get a mail naming the professional on the other side.
    for p, me, other in ((rdam, r_pro, g_pro), (gm, g_pro, r_pro)):
        wait_until(
            lambda p=p, me=me, other=other: any(other["email"] in m.text() for m in p.mailbox.to(me["email"]))
        )
    # Nothing that identifies the person crossed: neither the BSN nor a pseudonym of Rotterdam
    # is in Gelderland-Midden's match database.
    r_pseudonyms = {r[0] for r in table(rdam, "SELECT pseudonym FROM involvements")}
    g_dump = repr(table(gm, "SELECT * FROM federation_peers")) + repr(table(gm, "SELECT * FROM matches"))
    assert bsn not in g_dump and not any(p in g_dump for p in r_pseudonyms)
    # The disclosure is in the processing log on both sides; the receiving side names the
    # sender's operation (its trace context travelled with the call).
    for p in (rdam, gm):
        lines = [
            x for x in processing_log(p, bsn) if x.processing_activity_id == "grensoverschrijdende-match"
        ]
        names = {x.name for x in lines}
        assert {"federation.members_sent", "federation.members_received"} <= names, names
        received = [x for x in lines if x.name == "federation.members_received"]
        assert all(x.foreign_trace_id and x.foreign_operation_id for x in received)
        assert all(x.foreign_entity.startswith("grpcs://") for x in received), received
        assert all(x.attributes["sluis.peer_region"] in (ROTTERDAM, GELDERLAND) for x in lines)
    # Ending one side closes the match on both sides.
    assert r_api.post(f"/v1/signals/{r_signal}/end", {"reason": "goalReached"}).status_code in (200, 204)
    wait_until(
        lambda: cross_with(g_api, r_pro["email"]) is None and cross_with(r_api, g_pro["email"]) is None
    )


def test_upheld_objection_erases_the_copy_in_the_other_region(federation: Federation) -> None:
    rdam, gm = federation.regions[ROTTERDAM], federation.regions[GELDERLAND]
    r_api, g_api = api(rdam, 1), api(gm, 1)
    g_pro = pros(gm, 1)
    (bsn,) = valid_bsns(1, start=612_000_000)
    signal(r_api, bsn)
    g_signal = signal(g_api, bsn)
    wait_until(partial(cross_with, r_api, g_pro["email"]))
    held = [g_pro["email"], pros(gm, 1)["id"]]
    assert any(n in repr(table(rdam, "SELECT * FROM federation_peers")) for n in held)
    upheld = region_admin(gm).post("/v1/objections", {"signalId": g_signal, "decision": "upheld"})
    assert upheld.status_code == 201, upheld.text

    def rotterdam_holds() -> list[str]:
        found = []
        for name in ("federation_peers", "match_members", "federation_inbox", "pending_notices"):
            rows = repr(table(rdam, f"SELECT * FROM {name}"))  # noqa: S608 (fixed table names)
            found += [f"{n} in {name}" for n in held if n in rows]
        return found

    wait_until(lambda: not rotterdam_holds(), timeout=60)
    assert cross_with(r_api, g_pro["email"]) is None


# --- a region learns nothing about people it does not have -------------------------------------


def test_the_peer_answers_alike_for_known_and_unknown_people(federation: Federation) -> None:
    rdam, gm = federation.regions[ROTTERDAM], federation.regions[GELDERLAND]
    bsns = valid_bsns(12, start=613_000_000)
    known, unknown = bsns[:6], bsns[6:]
    for bsn in known:  # Gelderland-Midden has these people, not the others
        signal(api(gm, 2), bsn)
    # Exchange, called with Rotterdam's certificate and real tokens of the pair.
    known_token, unknown_token = exchange_tokens(rdam, GELDERLAND, [known[0], unknown[0]])
    timings, answers = probe_exchange(
        federation, ROTTERDAM, GELDERLAND, {"known": known_token, "unknown": unknown_token}, 60
    )
    assert answers["known"] == answers["unknown"] and len(answers["known"]) == 1
    report("Exchange", timings)
    # Malformed tokens get the same answer, and do not hold up the peer's inbox.
    _, bad = probe_exchange(federation, ROTTERDAM, GELDERLAND, {"x": "x.not-a-point", "y": "nonsense"}, 2)
    assert bad["x"] == bad["y"] == answers["known"]
    wait_until(lambda: table(gm, "SELECT count(*) FROM federation_inbox") == [(0,)])
    # Through the REST API: a registration in Rotterdam answers alike whether or not
    # Gelderland-Midden has the person.
    r_api = api(rdam, 2)
    shapes: dict[str, set[str]] = {"known": set(), "unknown": set()}
    rest: dict[str, list[float]] = {"known": [], "unknown": []}
    for k, u in zip(known[1:], unknown[1:], strict=True):
        for label, bsn in (("known", k), ("unknown", u)):
            started = time.perf_counter()
            r = r_api.signal(bsn)
            rest[label].append(time.perf_counter() - started)
            assert r.status_code == 201, r.text
            body = {k: v for k, v in r.json().items() if k not in ("id", "_links", "createdAt", "expiresAt")}
            shapes[label].add(
                repr(sorted((k, v if not isinstance(v, str) else type(v).__name__) for k, v in body.items()))
            )
    assert shapes["known"] == shapes["unknown"] and len(shapes["known"]) == 1
    report("Registration (REST)", rest)


def report(what: str, timings: dict[str, list[float]]) -> None:
    medians = {k: statistics.median(v) * 1000 for k, v in timings.items()}
    print(f"\n{what} median: known {medians['known']:.2f} ms, unknown {medians['unknown']:.2f} ms")


# --- faults --------------------------------------------------------------------------------


def test_peer_down_then_back_matches_exactly_once(federation: Federation) -> None:
    rdam, gm = federation.regions[ROTTERDAM], federation.regions[GELDERLAND]
    bsns = valid_bsns(3, start=614_000_000)
    g_api, r_api = api(gm, 1, 1), api(rdam, 1, 1)
    for bsn in bsns:
        signal(g_api, bsn)
    gm.kill("match")
    try:
        for bsn in bsns:
            signal(r_api, bsn)
        time.sleep(30)  # the peer region's match is down for 30 s during the registrations
    finally:
        gm.restart("match")
    g_email = pros(gm, 1, 1)["email"]

    def mine() -> list[dict[str, Any]]:
        return [m for m in cross(r_api) if any(x["email"] == g_email for x in m["members"])]

    wait_until(lambda: len(mine()) == len(bsns), timeout=90)
    time.sleep(2)  # any redelivery would have landed by now
    assert len(mine()) == len(bsns)
    r_email = pros(rdam, 1, 1)["email"]
    assert len([m for m in cross(g_api) if any(x["email"] == r_email for x in m["members"])]) == len(bsns)
    counts = table(
        rdam,
        "SELECT pseudonym, count(*) FROM matches WHERE kind = 'cross-region' AND status = 'open'"
        " GROUP BY pseudonym HAVING count(*) > 1",
    )
    assert counts == []


@pytest.mark.parametrize("kind", ["other CA", "revoked"])
def test_a_wrong_or_revoked_certificate_is_refused(federation: Federation, kind: str, tmp_path: Path) -> None:
    if kind == "other CA":
        ca_path, ca_key = make_ca(tmp_path / "other-ca", "other-ca")
    else:  # signed by the federation CA, but not (or no longer) pinned
        ca_path, ca_key = federation.ca_path, federation.ca_key
    cert = region_certificate(tmp_path, ROTTERDAM, ca_path, ca_key)
    if kind == "other CA":
        # Our own CA file, so the client side verifies the real server: only the server refuses.
        (cert.tls_dir / "ca.crt").write_bytes(federation.ca_path.read_bytes())
    stub, channel = exchange_stub(federation, ROTTERDAM, GELDERLAND, cert.tls_dir)
    with channel, pytest.raises(grpc.RpcError) as refused:
        stub.Exchange(fpb.ExchangeRequest(from_region=ROTTERDAM), timeout=10)
    expected = grpc.StatusCode.UNAVAILABLE if kind == "other CA" else grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.code() == expected
    # The real certificate is accepted.
    stub, channel = exchange_stub(federation, ROTTERDAM, GELDERLAND)
    with channel:
        assert stub.Exchange(fpb.ExchangeRequest(from_region=ROTTERDAM), timeout=10) == fpb.ExchangeResponse()


def test_the_relay_refuses_a_peer_whose_certificate_is_not_pinned(federation: Federation) -> None:
    """The client side of the pin: before each delivery the peer's server certificate must be
    pinned, else the delivery fails (and stays queued)."""
    tls = TlsFiles(federation.certificates[ROTTERDAM].tls_dir)
    endpoint = f"127.0.0.1:{federation.ports[GELDERLAND]['federation']}"
    pinned = federation.certificates[GELDERLAND].fingerprint

    def client(pin: str) -> PeerClient:
        peering = parse_peering(ROTTERDAM, [f"{GELDERLAND}={endpoint}"], [f"{GELDERLAND}={pin}"], [])
        return PeerClient(peering, GELDERLAND, tls, identity=None, timeout=5)  # type: ignore[arg-type]

    asyncio.run(client(pinned).verify_peer())
    with pytest.raises(Unavailable):
        asyncio.run(client("00" * 32).verify_peer())


def test_a_pinned_certificate_speaks_only_for_its_own_region(federation: Federation) -> None:
    """Gelderland-Midden's own (pinned) certificate cannot claim to be Rotterdam."""
    stub, channel = exchange_stub(federation, GELDERLAND, GELDERLAND)
    with channel, pytest.raises(grpc.RpcError) as refused:
        stub.Exchange(fpb.ExchangeRequest(from_region=ROTTERDAM), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
