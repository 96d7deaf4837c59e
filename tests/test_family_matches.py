"""Issue 18 on the real platform: family matches from the local BRP's families.

The local BRP (devstack/README.md) holds parents 999990019 and 999990020 with children
999990032 (2012), 999990044 (2015) and 999990056 (2008), and parent 999990068 with child
999990081 (2014). The platform's processes run on the real clock, so these tests use
children who stay minors for years (999990056 turns 18 on 2026-12-10); that sibling leaving
the family match on their 18th birthday is tests/test_family_turning_18.py, with one
injected clock across the services.
"""

import json
from datetime import date
from typing import Any

import pytest

from devstack.platform import Platform
from tests.helpers import Api, by_org, wait_until

PLATFORM_OPTIONS = {"brp": True}  # the local BRP and identity's link (devstack/fixtures.py)


def _age(born: str) -> int:
    b, t = date.fromisoformat(born), date.today()
    return t.year - b.year - ((t.month, t.day) < (b.month, b.day))


def register(api: Api, bsn: str, born: str) -> dict[str, Any]:
    """A registration that every organisation profile accepts at this age (issue 22)."""
    told = {"method": "inPerson", "informedOn": date.today().isoformat()}
    informed: dict[str, Any] = {"person": told} if _age(born) >= 12 else {}
    if _age(born) < 18:
        informed["legalRepresentative"] = told
    by = "legalRepresentative" if _age(born) < 16 else "person"
    r = api.signal(bsn, born, consentGiven=False, consentBy=by, informed=informed)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture(scope="module")
def apis(platform: Platform, professionals: list[dict[str, Any]]) -> list[Api]:
    orgs = list(by_org(professionals).values())
    return [Api(platform.url, org[0]["apiKey"]) for org in orgs[:3]]


def family_matches(api: Api) -> list[dict[str, Any]]:
    return [m for m in api.get("/v1/matches").json()["matches"] if m["kind"] == "family"]


def settled(api: Api, count: int, members: int = 0) -> list[dict[str, Any]]:
    """The caller's family matches once match has applied the events (the outbox is async)."""

    def check() -> list[dict[str, Any]] | None:
        found = family_matches(api)
        ok = len(found) == count and all(len(m["members"]) >= members for m in found)
        return found if ok else None

    return list(wait_until(check))


def access_document(platform: Platform, bsn: str) -> dict[str, Any]:
    admin = next(a for a in platform.demo["admins"] if a["role"] == "regionAdmin")
    resp = Api(platform.url, admin["apiKey"]).post(
        "/v1/access-requests", {"bsn": bsn, "requester": "legalRepresentative", "caseReference": "Z-18-1"}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_parent_and_child(platform: Platform, apis: list[Api]) -> None:
    parent = register(apis[0], "999990068", "1979-01-08")
    child = register(apis[1], "999990081", "2014-02-14")
    (match,) = settled(apis[0], 1)
    assert [m["id"] for m in settled(apis[1], 1)] == [match["id"]]
    assert match["kind"] == "family" and match["status"] == "open" and len(match["members"]) == 2
    # Contact details of the others, and that it is a family; never who is signalled.
    # (ownSignal is the caller's own signal, issue 17: theirs to see, so left out here.)
    seen = apis[1].get(f"/v1/matches/{match['id']}").json()
    assert seen["ownSignal"]["id"] == child["id"]
    body = json.dumps({k: v for k, v in seen.items() if k != "ownSignal"})
    for secret in ("999990068", "999990081", parent["id"], child["id"], "1979-01-08", "2014-02-14"):
        assert secret not in body

    # The family match is about the child too: the child's access document lists it, its
    # memberships, the notices and mails about it and the reads of it, as the parent's does.
    def listed(bsn: str) -> dict[str, Any] | None:
        doc = access_document(platform, bsn)
        told = {(d["channel"], d["what"]) for d in doc["disclosures"] if d["matchId"] == match["id"]}
        ok = {"melding", "e-mail", "inbox", "api"} <= {c for c, _ in told}
        return doc if ok and ("api", "de match en wie er bij u betrokken is") in told else None

    # Issue 18: the professionals' mails about it say "gezinsmatch" (notify's Dutch texts).
    told = wait_until(lambda: [m for m in platform.mailbox.mails() if f"/matches/{match['id']}" in m.text()])
    assert all(m.subject == "SluiS: nieuwe gezinsmatch" for m in told)
    assert all("gezinsmatch" in m.text() and "hetzelfde gezin" in m.text() for m in told)
    for bsn in ("999990081", "999990068"):
        doc = wait_until(lambda bsn=bsn: listed(bsn))
        assert [m["id"] for m in doc["matches"]] == [match["id"]]
        assert {m["matchId"] for m in doc["memberships"]} == {match["id"]} and len(doc["memberships"]) == 2
        assert bsn not in json.dumps(doc)
    # Neither person has two organisations: no person match, and every match says its kind.
    assert all(m["kind"] in ("person", "family") for m in apis[0].get("/v1/matches").json()["matches"])
    assert apis[1].get(f"/v1/signals/{child['id']}/involvement").json()["match"] is None
    # The parent's signal ends: the family match closes for both.
    ended = apis[0].post(f"/v1/signals/{parent['id']}/end", {"reason": "goalReached"})
    assert ended.status_code in (200, 204), ended.text
    wait_until(lambda: family_matches(apis[1]) == [] and family_matches(apis[0]) == [])


def test_two_siblings_make_one_family_match(apis: list[Api]) -> None:
    register(apis[0], "999990032", "2012-05-04")
    register(apis[1], "999990044", "2015-09-30")
    (match,) = settled(apis[0], 1)
    assert [m["id"] for m in settled(apis[1], 1)] == [match["id"]]  # one, not one per parent
    # A third organisation signals one of the parents: it joins the same family match (kept
    # under that parent, whose family now holds every signal).
    register(apis[2], "999990020", "1982-07-20")
    (joined,) = settled(apis[2], 1, members=3)
    assert joined["id"] == match["id"] and len(joined["members"]) == 3
    assert [m["id"] for m in family_matches(apis[0])] == [match["id"]]
