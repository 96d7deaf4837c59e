"""Issue 17 on the real platform: the professional's own client reference and own signal.

The owner sees `clientReference` and `ownSignal` on their signals, matches and inbox items and
can filter matches by signal. Another member never sees the reference: not in any response body
they can get, not in any mail (the devstack SMTP mailbox), and not in any database but the
signal service's, from which notify builds webhooks and mails. Ending the signal as
unjustified removes it everywhere (the tests/test_forget.py dump).
"""

from functools import partial
from typing import Any

from tests.helpers import Api, by_org, valid_bsns, wait_until
from tests.test_forget import findings

REF = "WT-2026/7731.a"


def bodies(api: Api, paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        resp = api.get(path)
        assert resp.status_code < 500, (path, resp.text)
        out.append(resp.text)
    return out


def test_only_the_owner_ever_sees_the_reference(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    anna, carla, eva = orgs[0][0], orgs[1][0], orgs[2][0]
    a, c, e = (Api(platform.url, p["apiKey"]) for p in (anna, carla, eva))
    bsn, other_bsn = valid_bsns(2, start=817_000_000)

    created = a.signal(bsn, clientReference=REF)
    assert created.status_code == 201, created.text
    mine = created.json()
    assert mine["clientReference"] == REF
    sid = mine["id"]
    alone = a.signal(other_bsn, clientReference="WT-ALLEEN").json()["id"]
    theirs = [c.signal(bsn).json()["id"], e.signal(bsn).json()["id"]]

    # The owner: on the signal, the match (list, one, filtered) and the inbox item.
    match = wait_until(lambda: a.get(f"/v1/matches?signalId={sid}").json()["matches"])[0]
    assert match["ownSignal"] == {
        "id": sid,
        "clientReference": REF,
        "birthDate": mine["birthDate"],
        "_links": {"self": {"href": f"/v1/signals/{sid}"}},
    }
    assert a.get(f"/v1/matches/{match['id']}").json()["ownSignal"]["clientReference"] == REF
    assert [m["id"] for m in a.get("/v1/matches").json()["matches"] if m["ownSignal"]["id"] == sid] == [
        match["id"]
    ]
    assert a.get(f"/v1/matches?signalId={alone}").json()["matches"] == []
    assert a.get(f"/v1/signals/{sid}").json()["clientReference"] == REF
    items = wait_until(lambda: [i for i in a.get("/v1/inbox").json()["items"] if i["matchId"] == match["id"]])
    assert all(i["ownSignal"]["clientReference"] == REF for i in items)

    # Another member's signal is the one 404 for the filter, like an unknown signal.
    refused = a.get(f"/v1/matches?signalId={theirs[0]}")
    assert refused.status_code == 404 and refused.json()["code"] == "signal_not_found"

    # The others: every body they can get, every item they can read.
    for api, own in ((c, theirs[0]), (e, theirs[1])):
        wait_until(lambda api=api: api.get("/v1/inbox").json()["items"])
        readable = [i["id"] for i in api.get("/v1/inbox").json()["items"]]
        texts = bodies(
            api,
            [
                "/v1/signals",
                f"/v1/signals/{own}",
                f"/v1/signals/{own}/involvement",
                "/v1/matches",
                f"/v1/matches/{match['id']}",
                f"/v1/matches?signalId={own}",
                "/v1/inbox",
                f"/v1/signals/{sid}",
                f"/v1/matches?signalId={sid}",
            ],
        )
        texts += [api.post(f"/v1/inbox/{i}/read", {}).text for i in readable]
        assert not [t for t in texts if REF in t or "WT-ALLEEN" in t]
        assert api.get(f"/v1/matches/{match['id']}").json()["ownSignal"]["id"] == own

    # No mail at all carries it (the owner's own mails included: only the portal shows it).
    for who in (anna, carla, eva):
        wait_until(partial(platform.mailbox.to, who["email"]))
    assert platform.mailbox.mails()
    assert not [m.subject for m in platform.mailbox.mails() if REF in m.message.as_string()]

    # Only the signal service holds it: match and notify (mails, inbox, webhooks) never do.
    def only_signals(service: str, table: str, row: tuple[Any, ...]) -> bool:
        return service == "signal" and table == "signals"

    assert findings(platform, [REF])
    assert not findings(platform, [REF], only_signals)

    # Removed with the signal.
    assert a.post(f"/v1/signals/{sid}/end", {"reason": "unjustified"}).status_code == 204
    assert not findings(platform, [REF])


def test_informed_before_birth_names_the_field(platform, professionals) -> None:
    """A rule of the signal service (not of the contract) also says which field (invalidParams)."""
    a = Api(platform.url, professionals[0]["apiKey"])
    (bsn,) = valid_bsns(1, start=818_000_000)
    resp = a.signal(
        bsn,
        birth_date="2020-06-01",
        informed={"party": "legalRepresentative", "method": "phone", "informedOn": "2020-05-01"},
    )
    assert resp.status_code == 400, resp.text
    doc = resp.json()
    assert doc["code"] == "informed_on_before_birth"
    assert doc["invalidParams"] == [{"name": "informed.informedOn", "reason": doc["detail"]}]
