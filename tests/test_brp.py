"""Issue 18 on the real platform: registrations checked against the local BRP."""

from datetime import date
from typing import Any

import psycopg
import pytest

from devstack.platform import Platform
from tests.helpers import Api, by_org, wait_until

TEST_PERSON, BORN = "999993653", "1985-12-01"


# The shared `platform` fixture (devstack/fixtures.py) with the local BRP and identity's link.
PLATFORM_OPTIONS = {"brp": True}
REGION_ADMIN = "regiobeheer@rijnmond.example"


@pytest.fixture(scope="module")
def platform_env() -> dict[str, str]:
    # A region of Rotterdam and Schiedam, so a move between them stays within it; Ede is
    # outside. The region admin is told of moves out of the region.
    return {"SLUIS_REGION_MUNICIPALITIES": "0599,0606", "SLUIS_NOTIFY_REGION_ADMIN_EMAIL": REGION_ADMIN}


@pytest.fixture(scope="module")
def api(platform: Platform, professionals: list[dict[str, Any]]) -> Api:
    return Api(platform.url, professionals[0]["apiKey"])


def test_right_birth_date_registers_with_municipality(platform: Platform, api: Api) -> None:
    r = api.signal(TEST_PERSON, BORN)
    assert r.status_code == 201, r.text
    with psycopg.connect(platform.database_urls["signal"]) as conn:
        row = conn.execute(
            "SELECT municipality_code FROM signals WHERE signal_id = %s", (r.json()["id"],)
        ).fetchone()
    assert row == ("0599",)
    assert r.json()["municipalityCode"] == "0599"
    assert api.get(f"/v1/signals/{r.json()['id']}").json()["municipalityCode"] == "0599"


def test_wrong_birth_date_is_400_naming_the_field(api: Api) -> None:
    r = api.signal("999990019", "1975-03-15")  # born 1980-03-15
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/problem+json")
    doc = r.json()
    assert doc["code"] == "birth_date_mismatch"
    assert [p["name"] for p in doc["invalidParams"]] == ["birthDate"]
    assert "999990019" not in r.text and "signaal" not in doc["detail"].lower()


def test_unknown_bsn_gets_the_same_answer(api: Api) -> None:
    r = api.signal("123456782", "1990-04-12")  # valid, not in the BRP
    assert r.status_code == 400 and r.json()["code"] == "birth_date_mismatch"


def test_brp_down_is_503(platform: Platform, api: Api) -> None:
    assert platform.brp_server is not None
    platform.brp_server.app.available = False
    try:
        r = api.signal("999990020", "1982-07-20")
    finally:
        platform.brp_server.app.available = True
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert api.signal("999990020", "1982-07-20").status_code == 201


def test_a_second_organisation_joins_the_verified_person(
    platform: Platform, professionals: list[dict[str, Any]]
) -> None:
    orgs = list(by_org(professionals).values())
    other = Api(platform.url, orgs[1][0]["apiKey"])
    assert other.signal(TEST_PERSON, BORN).status_code == 201


def test_no_bsn_in_any_log(platform: Platform) -> None:
    logs = platform.logs()
    for bsn in (TEST_PERSON, "999990019", "999990020", "999990032", "123456782"):
        assert bsn not in logs


def _recheck(platform: Platform) -> Any:
    import grpc
    from sluis.signal.v1 import signal_pb2, signal_pb2_grpc

    with grpc.insecure_channel(platform.address("signal")) as channel:
        stub = signal_pb2_grpc.SignalServiceStub(channel)
        return stub.RecheckPeople(signal_pb2.RecheckPeopleRequest(), timeout=60)


def _signal_row(platform: Platform, signal_id: str) -> tuple[Any, ...]:
    with psycopg.connect(platform.database_urls["signal"]) as conn:
        row = conn.execute(
            "SELECT status, end_reason, municipality_code FROM signals WHERE signal_id = %s", (signal_id,)
        ).fetchone()
    assert row is not None
    return tuple(row)


def _matches(api: Api) -> list[dict[str, Any]]:
    return list(api.get("/v1/matches").json()["matches"])


def _signalled_by_two(
    platform: Platform, professionals: list[dict[str, Any]], bsn: str, born: str
) -> tuple[tuple[Api, Api], list[Any], dict[str, Any]]:
    """Two organisations signal the person: their clients, the answers and the new match."""
    orgs = list(by_org(professionals).values())
    a, b = Api(platform.url, orgs[0][0]["apiKey"]), Api(platform.url, orgs[1][0]["apiKey"])
    before = {m["id"] for m in _matches(a)}
    answers = [a.signal(bsn, born), b.signal(bsn, born)]
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    (match,) = wait_until(lambda: [m for m in _matches(a) if m["id"] not in before])
    return (a, b), answers, match


def _inbox_kinds(api: Api) -> list[str]:
    return [i["kind"] for i in api.get("/v1/inbox").json()["items"]]


def test_a_move_within_the_region_then_out_of_it(
    platform: Platform, professionals: list[dict[str, Any]]
) -> None:
    """Rotterdam -> Schiedam only updates the municipality; Schiedam -> Ede leaves the region:
    the signalling professionals and the region admin are told (issue 18). Telling the other
    region through the federation link is issue 19."""
    assert platform.brp_server is not None
    (a, b), movers, match = _signalled_by_two(platform, professionals, "999990093", "1990-04-12")
    ids = [r.json()["id"] for r in movers]
    first = _recheck(platform)
    assert first.moved_out == 0 and first.moved_within == 0 and first.checked >= 2

    platform.brp_server.app.move("999990093", "0606")  # Rotterdam -> Schiedam: within
    within = _recheck(platform)
    assert within.moved_within == 1 and within.moved_out == 0
    assert [_signal_row(platform, i) for i in ids] == [("active", None, "0606")] * 2
    for api, signal_id in zip((a, b), ids, strict=True):
        assert api.get(f"/v1/signals/{signal_id}").json()["municipalityCode"] == "0606"

    platform.brp_server.app.move("999990093", "0228")  # Schiedam -> Ede: out of the region
    out = _recheck(platform)
    assert out.moved_out == 1 and out.moved_within == 0 and out.signals_ended == 0
    assert [_signal_row(platform, i) for i in ids] == [("active", None, "0228")] * 2
    # Each signalling professional is told once (the move within told nobody), and the
    # region admin by mail; the signals and their match go on.
    for api in (a, b):
        wait_until(lambda api=api: "signal_moved_out" in _inbox_kinds(api))
        assert _inbox_kinds(api).count("signal_moved_out") == 1
    # (MOVED_OUT is an event per signal, so the region admin gets one mail per signal.)
    told = wait_until(lambda: len(found := platform.mailbox.to(REGION_ADMIN)) == 2 and found)
    assert all("verhuisd" in m.subject and "999990093" not in m.text() for m in told)
    assert a.get(f"/v1/matches/{match['id']}").json()["status"] == "open"
    again = _recheck(platform)
    assert again.moved_out == 0 and again.moved_within == 0


def test_death_ends_every_signal_and_closes_the_match(
    platform: Platform, professionals: list[dict[str, Any]]
) -> None:
    assert platform.brp_server is not None
    (a, b), dying, match = _signalled_by_two(platform, professionals, "999990123", "1950-06-06")
    assert _recheck(platform).deceased == 0

    platform.brp_server.app.die("999990123", date(2026, 11, 28))
    counts = _recheck(platform)
    assert counts.deceased == 1 and counts.signals_ended == 2 and counts.moved_out == 0
    for r in dying:
        assert _signal_row(platform, r.json()["id"])[:2] == ("archived", "deceased")
    doc = a.get(f"/v1/signals/{dying[0].json()['id']}").json()
    assert doc["status"] == "archived" and doc["endReason"] == "deceased"
    # Both professionals are told, and their match on the person closes.
    for api in (a, b):
        wait_until(lambda api=api: "signal_deceased" in _inbox_kinds(api))
        wait_until(lambda api=api: match["id"] not in {m["id"] for m in _matches(api)})
    # Idempotent: nothing dies twice, and the deceased person left the vault.
    again = _recheck(platform)
    assert again.deceased == 0 and again.signals_ended == 0


def test_bulk_rows_with_a_wrong_birth_date_fail_alone(platform: Platform, api: Api) -> None:
    header = "bsn,birthDate,informedParty,informedMethod,informedOn,postponeReason,multiProblemAttested,consentGiven"
    rows = [
        "999990068,1979-01-08,person,letter,2026-01-02,,true,true",  # right
        "999990020,1999-07-20,person,letter,2026-01-02,,true,true",  # wrong birth date
    ]
    body = ("\r\n".join([header, *rows]) + "\r\n").encode()
    r = api.session.post(
        platform.url + "/v1/bulk-loads", data=body, headers={"Content-Type": "text/csv"}, timeout=30
    )
    assert r.status_code == 202, r.text
    job = wait_until(
        lambda: (d := api.get(r.headers["Location"]).json())["state"] == "done" and d, timeout=60
    )
    assert job["rowsDone"] == 1 and job["rowsFailed"] == 1
    errors = api.get(job["_links"]["errors"]["href"]).text
    assert "2,birth_date_mismatch,birthDate" in errors and "999990020" not in errors


def test_municipality_is_never_shown_to_other_members(api: Api) -> None:
    # Own signals carry it; match lists and involvement (other members' details) never do.
    mine = [s for s in api.get("/v1/signals").json()["signals"] if s["municipalityCode"] == "0599"]
    assert mine
    matches = api.get("/v1/matches").text
    for body in [matches] + [api.get(f"/v1/signals/{s['id']}/involvement").text for s in mine]:
        assert "municipalityCode" not in body and '"0599"' not in body


def test_vault_backfill_for_people_signalled_before_the_link(
    platform: Platform,
    professionals: list[dict[str, Any]],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 18: a signal from before the BRP link (no vault entry, no municipality, no
    parents) gets both after `python -m services.identity backfill` and the re-check."""
    import base64
    import json

    from services.identity import cli, domain
    from services.identity.vault import VaultKeys

    orgs = list(by_org(professionals).values())
    api = Api(platform.url, orgs[2][0]["apiKey"])
    today = date.today().isoformat()
    child = api.signal(
        "999990044",
        "2015-09-30",
        consentGiven=True,
        informed={"party": "legalRepresentative", "method": "inPerson", "informedOn": today},
    )
    assert child.status_code == 201, child.text
    signal_id = child.json()["id"]
    # As if registered before the link: no vault entry, nothing from the BRP on the signal.
    keys = VaultKeys.of(base64.b64decode(platform.kek))
    with psycopg.connect(platform.database_urls["identity"]) as conn:
        conn.execute(
            "DELETE FROM brp_vault WHERE person_key = %s",
            (keys.person_key(domain.hash_to_group("999990044")),),
        )
    with psycopg.connect(platform.database_urls["signal"]) as conn:
        conn.execute(
            "UPDATE signals SET municipality_code = NULL, parent_pseudonyms = '{}' WHERE signal_id = %s",
            (signal_id,),
        )

    listing = tmp_path / "bsns.txt"
    listing.write_text("999990044\n999990111\n12345\n999990044\n")  # one without a signal, one invalid
    monkeypatch.setenv("SLUIS_REGION", platform.region)
    monkeypatch.setenv("SLUIS_DATABASE_URL", platform.database_urls["identity"])
    monkeypatch.setenv("SLUIS_IDENTITY_KEK", platform.kek)
    monkeypatch.setenv("SLUIS_SIGNAL_ADDR", platform.address("signal"))
    monkeypatch.delenv("SLUIS_IDENTITY_KEK_DIR", raising=False)
    assert cli.run(["backfill", str(listing)]) == 0
    assert json.loads(capsys.readouterr().out) == {"bsns": 2, "invalid": 1, "kept": 1}
    with psycopg.connect(platform.database_urls["identity"]) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM brp_vault WHERE person_key = %s",
            (keys.person_key(domain.hash_to_group("999990111")),),
        ).fetchone()
    assert kept == (0,)  # no active signal: never stored

    counts = _recheck(platform)
    assert counts.moved_out == 0 and counts.family_changed >= 1
    with psycopg.connect(platform.database_urls["signal"]) as conn:
        row = conn.execute(
            "SELECT municipality_code, cardinality(parent_pseudonyms) FROM signals WHERE signal_id = %s",
            (signal_id,),
        ).fetchone()
    assert row == ("0599", 2)
