"""Issue 16: restriction of processing (AVG art. 18) on the real platform. While a rights request
restricts a person's signal, the signal stays stored but match does not disclose it: the other
professionals do not see its professional and nobody is told about it; lifting the restriction
discloses it again."""

from typing import Any

from tests.helpers import Api, by_org, valid_bsns, wait_until


def others(api: Api, signal_id: str) -> list[str] | None:
    """Who else the professional sees; None while match has not yet taken in their signal
    (the involvement is 404 until then: signal -> outbox -> match is asynchronous)."""
    resp = api.get(f"/v1/signals/{signal_id}/involvement")
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return sorted(o["professionalId"] for o in resp.json().get("others", []))


def test_a_restricted_signal_is_hidden_from_the_match_until_lifted(platform: Any, professionals: Any) -> None:
    orgs = list(by_org(professionals).values())
    pa, pb, pc = orgs[0][0], orgs[1][0], orgs[2][0]
    a, b, c = (Api(platform.url, p["apiKey"]) for p in (pa, pb, pc))
    region = Api(
        platform.url, next(x for x in platform.demo["admins"] if x["role"] == "regionAdmin")["apiKey"]
    )
    (bsn,) = valid_bsns(1, start=742_000_000)

    sa = a.signal(bsn)
    assert sa.status_code == 201, sa.text
    sa_id = sa.json()["id"]
    created = region.post(
        "/v1/rights-requests",
        {
            "kind": "restriction",
            "requester": "person",
            "receivedOn": "2026-11-20",
            "bsn": bsn,
            "caseReference": "R-1",
        },
    )
    assert created.status_code == 201, created.text
    path = f"/v1/rights-requests/{created.json()['id']}"
    assert created.json()["signalIds"] == [sa_id]
    restricted = region.session.put(platform.url + path + "/restriction", timeout=30)
    assert restricted.status_code == 200 and restricted.json()["restriction"]["restricted"], restricted.text

    # B and C signal the same person: their match has two members; A is not disclosed.
    sb_id = b.signal(bsn).json()["id"]
    sc_id = c.signal(bsn).json()["id"]
    wait_until(lambda: others(c, sc_id) == [pb["id"]], timeout=60)
    wait_until(lambda: platform.mailbox.to(pb["email"]), timeout=60)
    assert others(b, sb_id) == [pc["id"]]
    assert c.get(f"/v1/signals/{sc_id}/involvement").json()["match"] is not None
    mails_to_b = " ".join(m.text() + m.html() for m in platform.mailbox.to(pb["email"]))
    assert pa["name"] not in mails_to_b and pa["email"] not in mails_to_b
    assert not platform.mailbox.to(pa["email"]), "the restricted professional is told nothing"
    # The restricted signal stays stored (the citizen's access document still lists it).
    doc = region.post(
        "/v1/access-requests", {"bsn": bsn, "requester": "person", "caseReference": "Z-2026-18"}
    ).json()
    assert sa_id in {s["id"] for s in doc["signals"]}

    # Lifted: A is disclosed again and joins the match.
    lifted = region.session.delete(platform.url + path + "/restriction", timeout=30)
    assert lifted.status_code == 200 and not lifted.json()["restriction"]["restricted"], lifted.text
    wait_until(lambda: others(c, sc_id) == sorted([pa["id"], pb["id"]]), timeout=60)
