"""Issue 2: one signal carried from BSN to a delivered match notification, across real processes."""

from tests.helpers import BSNS, Api, by_org, wait_until


def test_second_organisation_makes_a_match_and_both_are_mailed(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    anna, bert = orgs[0][0], orgs[1][0]
    a, b = Api(platform.url, anna["apiKey"]), Api(platform.url, bert["apiKey"])

    first = a.signal(BSNS[0])
    assert first.status_code == 201, first.text
    assert first.headers["Location"].endswith(first.json()["id"])
    assert "bsn" not in first.json() and BSNS[0] not in first.text

    # Alone: nobody else is involved (404 only until match has received the signal).
    alone = wait_until(
        lambda: (r := a.get(f"/v1/signals/{first.json()['id']}/involvement")).status_code == 200 and r
    )
    assert alone.json()["others"] == []

    second = b.signal(BSNS[0])
    assert second.status_code == 201, second.text

    mails_a = wait_until(lambda: platform.mailbox.to(anna["email"]))
    mails_b = wait_until(lambda: platform.mailbox.to(bert["email"]))
    # Each mail names the other professional, and carries no BSN.
    assert bert["name"] in mails_a[0].text() and anna["name"] in mails_b[0].text()
    for mail in mails_a + mails_b:
        assert BSNS[0] not in mail.message.as_string()

    involved = a.get(f"/v1/signals/{first.json()['id']}/involvement").json()
    assert [o["name"] for o in involved["others"]] == [bert["name"]]
    assert involved["match"] is not None

    matches = b.get("/v1/matches")
    assert matches.status_code == 200 and len(matches.json()["matches"]) == 1


def test_only_professionals_with_an_active_signal_see_who_is_involved(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    anna, colleague, bert = orgs[0][0], orgs[0][1], orgs[1][0]
    a, c, b = (Api(platform.url, p["apiKey"]) for p in (anna, colleague, bert))
    sid = a.signal(BSNS[1]).json()["id"]
    assert b.signal(BSNS[1]).status_code == 201
    wait_until(lambda: a.get(f"/v1/signals/{sid}/involvement").json().get("others"))

    # A colleague of the same organisation without a signal, and another organisation's
    # professional, get the same answer as for a signal that does not exist.
    unknown = c.get("/v1/signals/00000000-0000-0000-0000-000000000000/involvement")
    for response in (c.get(f"/v1/signals/{sid}/involvement"), b.get(f"/v1/signals/{sid}/involvement")):
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["detail"] == unknown.json()["detail"]
