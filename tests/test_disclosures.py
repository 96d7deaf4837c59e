"""Issue 22: disclosures end with the signal. Once a professional's signal has ended, their
old inbox items about the match and the match page answer like unknown resources."""

from typing import Any

from tests.helpers import Api, by_org, valid_bsns, wait_until


def test_old_inbox_items_and_match_page_are_gone_after_the_signal_ended(
    platform: Any, professionals: list[dict[str, Any]]
) -> None:
    orgs = list(by_org(professionals).values())
    anna, bert, carla = orgs[0][0], orgs[1][0], orgs[2][0]
    a, b = Api(platform.url, anna["apiKey"]), Api(platform.url, bert["apiKey"])
    (bsn,) = valid_bsns(1, start=615_000_000)
    mine = a.signal(bsn)
    assert mine.status_code == 201, mine.text
    assert b.signal(bsn).status_code == 201
    # A third organisation keeps the match open after Anna leaves.
    assert Api(platform.url, carla["apiKey"]).signal(bsn).status_code == 201

    items = wait_until(lambda: [i for i in a.get("/v1/inbox").json()["items"] if i["matchId"]])
    item = items[0]
    assert item["available"] is True and "match" in item["_links"]
    match_path = f"/v1/matches/{item['matchId']}"
    assert a.get(match_path).status_code == 200

    ended = a.post(f"/v1/signals/{mine.json()['id']}/end", {"reason": "goalReached"})
    assert ended.status_code == 200, ended.text
    # Match learns of the end through signal's outbox: wait until the page is gone.
    wait_until(lambda: a.get(match_path).status_code == 404)
    gone = a.get(match_path)
    unknown = a.get("/v1/matches/00000000-0000-0000-0000-000000000000")
    assert gone.json()["code"] == unknown.json()["code"] and gone.json()["detail"] == unknown.json()["detail"]

    old = next(i for i in a.get("/v1/inbox").json()["items"] if i["id"] == item["id"])
    assert old["available"] is False and old["matchId"] is None and old["_links"] == {}
    assert old["title"] == "Deze match is niet meer beschikbaar voor u"
    assert bert["name"] not in old["body"]
    read = a.post(f"/v1/inbox/{item['id']}/read")
    assert read.status_code == 404, read.text
    # Bert's signal is still active and the match open: his items and the match stay his.
    assert all(i["available"] for i in b.get("/v1/inbox").json()["items"])
    assert b.get(match_path).status_code == 200
