"""Issue 18: the BRP link of identity against the local BRP (devstack/brp.py) over HTTP."""

import base64
import json
import socket
from collections.abc import Iterator
from datetime import date
from typing import Any

import grpc
import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from devstack.brp import (
    ANSWER_SCHEMA,
    QUERY_SCHEMA,
    BrpServer,
    LocalBrp,
    contract,
    contract_errors,
    dataset,
    persoon,
    select,
)
from services.identity import brp_facts
from services.identity.brp import BrpClient, BrpSettings, BrpUnavailable, CircuitBreaker, query
from services.identity.server import MIGRATIONS, IdentitySettings, create_service
from services.identity.store import initialise_keys

KEK = base64.b64encode(b"1" * 32).decode()
TEST_PERSON = "999993653"  # born 1985-12-01, Rotterdam (0599)
PARENT, CHILD = "999990019", "999990032"
MOVER, DECEASED, DIES = "999990093", "999990111", "999990123"


@pytest.fixture
def brp() -> Iterator[BrpServer]:
    server = BrpServer().start()
    yield server
    server.stop()


def _meta(exc: Any) -> dict[str, str]:
    return dict(exc.trailing_metadata())


# --- derived facts: plain functions ----------------------------------------------------


def test_facts_of_a_full_persoon() -> None:
    f = brp_facts.facts_from_persoon(persoon(dataset()[PARENT]))
    assert f.birth_date == date(1980, 3, 15) and f.municipality == "0599" and not f.deceased
    assert f.children == ("999990032", "999990044", "999990056") and f.parents == ()
    dead = brp_facts.facts_from_persoon(persoon(dataset()[DECEASED]))
    assert dead.deceased and dead.deceased_on == date(2026, 10, 1)


def test_birth_date_rule() -> None:
    f = brp_facts.facts_from_persoon(persoon(dataset()[TEST_PERSON]))
    assert brp_facts.birth_date_matches(f, date(1985, 12, 1))
    assert not brp_facts.birth_date_matches(f, date(1975, 12, 1))
    unknown_day = brp_facts.facts_from_persoon({"geboorte": {"datum": {"type": "JaarDatum", "jaar": 1985}}})
    assert brp_facts.birth_date_matches(unknown_day, date(1985, 1, 1))


def test_circuit_breaker_opens_and_half_opens() -> None:
    now = [0.0]
    breaker = CircuitBreaker(2, 10.0, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.allow() and breaker.failures == 0


def test_fields_filter_keeps_only_what_was_asked() -> None:
    doc = persoon(dataset()[PARENT])
    children = [{"burgerservicenummer": c} for c in ("999990032", "999990044", "999990056")]
    assert select(doc, ["kinderen.burgerservicenummer"]) == {"kinderen": children}
    assert select(doc, ["overlijden"]) == {}


# --- contract: both sides against the Haal Centraal spec ---------------------------------


@pytest.mark.parametrize("household", [False, True])
def test_client_request_validates_against_the_spec(household: bool) -> None:
    settings = BrpSettings(url="http://127.0.0.1:1/haalcentraal/api/brp", api_key="k", household=household)
    client = BrpClient(settings)
    prepared = requests.Request(
        "POST",
        client.endpoint,
        json=query([TEST_PERSON, PARENT], household=household),
        headers=client.session.headers,
    ).prepare()
    result = contract().unmarshal_request(RequestsOpenAPIRequest(prepared))
    assert not result.errors, result.errors
    body = json.loads(prepared.body or b"{}")
    assert contract_errors(QUERY_SCHEMA, body) == []
    assert body["type"] == "RaadpleegMetBurgerservicenummer"
    assert ("verblijfplaats.adresseerbaarObjectIdentificatie" in body["fields"]) is household
    assert prepared.headers["X-API-KEY"] == "k"


def test_an_invalid_request_is_refused_by_the_local_brp(brp: BrpServer) -> None:
    r = requests.post(
        brp.url + "/personen", json={"type": "RaadpleegMetBurgerservicenummer", "fields": []}, timeout=10
    )
    assert r.status_code == 400


def test_every_test_person_answer_validates(brp: BrpServer) -> None:
    # The server validates each answer itself (a contract violation would be a 500); the
    # client parses each of them.
    client = BrpClient(BrpSettings(url=brp.url, household=True))
    everyone = sorted(dataset())
    found: dict[str, brp_facts.PersonFacts] = {}
    for i in range(0, len(everyone), 20):
        found.update(client.lookup_sync(everyone[i : i + 20]))
    assert set(found) == set(everyone)
    assert found[TEST_PERSON].birth_date == date(1985, 12, 1) and found[TEST_PERSON].municipality == "0599"
    assert found[CHILD].parents == ("999990019", "999990020")


def test_the_contract_check_catches_what_is_off_contract() -> None:
    bad_answer = {"type": ANSWER_SCHEMA, "personen": [{"burgerservicenummer": "12"}]}
    assert contract_errors(ANSWER_SCHEMA, bad_answer)
    good = {"type": ANSWER_SCHEMA, "personen": [persoon(p) for p in dataset().values()]}
    assert contract_errors(ANSWER_SCHEMA, good) == []
    assert contract_errors(QUERY_SCHEMA, {**query([TEST_PERSON]), "burgerservicenummer": ["1"]})
    assert contract_errors(QUERY_SCHEMA, query([TEST_PERSON], household=True)) == []


def test_brp_down_and_hanging_are_unavailable(brp: BrpServer) -> None:
    brp.app.available = False
    with pytest.raises(BrpUnavailable):
        BrpClient(BrpSettings(url=brp.url)).lookup_sync([TEST_PERSON])
    with socket.socket() as hanging:  # accepts connections, never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen()
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}"
        client = BrpClient(BrpSettings(url=url, read_timeout_seconds=0.3, breaker_failures=1))
        with pytest.raises(BrpUnavailable):
            client.lookup_sync([TEST_PERSON])
        with pytest.raises(BrpUnavailable):  # the circuit is open: no second wait
            client.lookup_sync([TEST_PERSON])


# --- identity over gRPC with the BRP link ---------------------------------------------


@pytest.fixture
def identity(new_database, run_service, brp: BrpServer):
    url = new_database("identity", MIGRATIONS)
    settings = IdentitySettings(region="test", database_url=url, grpc_listen="127.0.0.1:0", kek=KEK)
    initialise_keys(settings.database_url, settings.kek_bytes())  # identity starts only once initialised
    link = BrpSettings(url=brp.url, read_timeout_seconds=1.0, breaker_failures=100)
    svc = run_service(lambda: create_service(settings, brp=link))
    with grpc.insecure_channel(svc.address) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        stub._url = url  # type: ignore[attr-defined]
        yield stub


def _register(identity, bsn: str, birth_date: str) -> pb.PseudonymiseResponse:
    return identity.Pseudonymise(pb.PseudonymiseRequest(bsn=bsn, birth_date=birth_date), timeout=10)


def test_right_birth_date_is_verified_with_municipality(identity) -> None:
    r = _register(identity, TEST_PERSON, "1985-12-01")
    assert r.verified and r.municipality_code == "0599"
    plain = identity.Pseudonymise(pb.PseudonymiseRequest(bsn=TEST_PERSON), timeout=10)
    assert plain.pseudonym == r.pseudonym and not plain.verified


def test_wrong_birth_date_is_refused_naming_the_field(identity) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        _register(identity, TEST_PERSON, "1975-12-01")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    meta = _meta(exc.value)
    assert meta["sluis-reason"] == "birth_date_mismatch" and meta["sluis-meta-field"] == "birthDate"
    assert TEST_PERSON not in (exc.value.details() or "")


def test_brp_down_is_unavailable(identity, brp: BrpServer) -> None:
    brp.app.available = False
    with pytest.raises(grpc.RpcError) as exc:
        _register(identity, TEST_PERSON, "1985-12-01")
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE


def _facts(identity, *pseudonyms: str) -> list[pb.PersonFacts]:
    return list(identity.GetPersonFacts(pb.GetPersonFactsRequest(pseudonyms=pseudonyms), timeout=10).facts)


def test_facts_of_registered_people_follow_the_brp(identity, brp: BrpServer) -> None:
    mover = _register(identity, MOVER, "1990-04-12").pseudonym
    dies = _register(identity, DIES, "1950-06-06").pseudonym
    never = identity.Pseudonymise(pb.PseudonymiseRequest(bsn=PARENT), timeout=10).pseudonym
    before = _facts(identity, mover, dies, never)
    assert [f.known for f in before] == [True, True, False]  # no registration, no vault entry
    assert before[0].municipality_code == "0599" and not before[1].deceased
    brp.app.move(MOVER, "0228")
    brp.app.die(DIES, date(2026, 11, 28))
    after = _facts(identity, mover, dies)
    assert after[0].municipality_code == "0228"
    assert after[1].deceased and after[1].deceased_on == "2026-11-28"
    assert identity.ForgetPeople(pb.ForgetPeopleRequest(pseudonyms=[mover]), timeout=10).forgotten == 1
    assert [f.known for f in _facts(identity, mover, dies)] == [False, True]


def test_relatives_come_back_as_pseudonyms(identity) -> None:
    child = _register(identity, CHILD, "2012-05-04").pseudonym
    (facts,) = _facts(identity, child)
    parents = [
        identity.Pseudonymise(pb.PseudonymiseRequest(bsn=b), timeout=10).pseudonym
        for b in (PARENT, "999990020")
    ]
    assert list(facts.parent_pseudonyms) == parents and not facts.child_pseudonyms
    assert PARENT not in str(facts)


def test_without_a_brp_link_registrations_stay_unverified(new_database, run_service) -> None:
    url = new_database("identity", MIGRATIONS)
    settings = IdentitySettings(region="test", database_url=url, grpc_listen="127.0.0.1:0", kek=KEK)
    initialise_keys(settings.database_url, settings.kek_bytes())  # identity starts only once initialised
    svc = run_service(lambda: create_service(settings, brp=BrpSettings()))
    with grpc.insecure_channel(svc.address) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        r = _register(stub, "123456782", "1975-01-01")
        assert r.pseudonym and not r.verified and r.municipality_code == ""
        assert not _facts(stub, r.pseudonym)[0].known


def test_local_brp_admin_moves_and_deaths() -> None:
    app = LocalBrp(validate=False)
    app.move(MOVER, "0228")
    assert app.lookup(MOVER).municipality == "0228"  # type: ignore[union-attr]


def test_the_vault_forgets_people_no_longer_asked_for(identity) -> None:
    import asyncio
    from datetime import timedelta

    import psycopg

    from services.identity.vault import BsnVault

    _register(identity, TEST_PERSON, "1985-12-01")
    url = identity._url
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE brp_vault SET last_seen_at = now() - interval '4 days'")

    async def prune() -> int:
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(url, open=False) as pool:
            return await BsnVault(pool, {1: base64.b64decode(KEK)}).prune(timedelta(hours=72))

    assert asyncio.run(prune()) == 1


def test_batch_checks_each_birth_date(identity) -> None:
    bsns = [TEST_PERSON, PARENT, "123456782", "1"]
    dates = ["1985-12-01", "1975-03-15", "1990-01-01", "2000-01-01"]
    results = identity.PseudonymiseBatch(
        pb.PseudonymiseBatchRequest(bsns=bsns, birth_dates=dates), timeout=20
    ).results
    assert [(r.error_reason, r.municipality_code) for r in results] == [
        ("", "0599"),
        ("birth_date_mismatch", ""),
        ("birth_date_mismatch", ""),  # valid BSN, unknown to the BRP
        ("bsn_format", ""),
    ]
    assert results[0].pseudonym and not results[1].pseudonym


def test_the_vault_survives_a_kek_rotation(
    new_database, run_service, brp: BrpServer, tmp_path, monkeypatch, capsys
) -> None:
    """Regression (issue 18): vault rows were keyed and sealed under the NEWEST KEK only."""
    import psycopg

    from services.identity import cli

    url, kek_dir = new_database("identity", MIGRATIONS), tmp_path / "kek"
    kek_dir.mkdir()
    (kek_dir / "1").write_text(base64.b64encode(b"a" * 32).decode())
    link = BrpSettings(url=brp.url, read_timeout_seconds=1.0, breaker_failures=100)

    def facts_of(pseudonym: str) -> pb.PersonFacts:
        settings = IdentitySettings(
            region="test", database_url=url, grpc_listen="127.0.0.1:0", kek_dir=str(kek_dir)
        )
        svc = run_service(lambda: create_service(settings, brp=link))
        with grpc.insecure_channel(svc.address) as channel:
            return _facts(pb_grpc.IdentityServiceStub(channel), pseudonym)[0]

    def versions() -> list[int | None]:
        with psycopg.connect(url) as conn:
            return [r[0] for r in conn.execute("SELECT kek_version FROM brp_vault").fetchall()]

    settings = IdentitySettings(
        region="test", database_url=url, grpc_listen="127.0.0.1:0", kek_dir=str(kek_dir)
    )
    initialise_keys(url, settings.kek_bytes())
    svc = run_service(lambda: create_service(settings, brp=link))
    with grpc.insecure_channel(svc.address) as channel:
        child = _register(pb_grpc.IdentityServiceStub(channel), CHILD, "2012-05-04").pseudonym
    assert versions() == [1]

    (kek_dir / "2").write_text(base64.b64encode(b"b" * 32).decode())  # KEK rotated: 2 is newest
    assert facts_of(child).known  # the row made under version 1 is still found and opened

    monkeypatch.setenv("SLUIS_REGION", "test")
    monkeypatch.setenv("SLUIS_DATABASE_URL", url)
    monkeypatch.setenv("SLUIS_IDENTITY_KEK_DIR", str(kek_dir))
    assert cli.run(["rewrap"]) == 0
    assert json.loads(capsys.readouterr().out)["vault_rows_by_previous_kek_version"] == {"1": 1}
    assert versions() == [2]
    (kek_dir / "1").unlink()  # version 1 retired
    assert facts_of(child).known
    assert CHILD not in str(versions())
