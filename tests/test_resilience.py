"""Issue 2: SIGKILL the match service in the middle of a burst of 1,000 signals on 200 people.

Afterwards every signal is matched exactly once and every notification was sent exactly once:
nothing lost (every member of every match was mailed about it), nothing doubled (no mail
delivered twice, every signal's involvement lists exactly the other four professionals).
"""

import itertools
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import Api, valid_bsns, wait_until

PEOPLE = 200
PER_PERSON = 5


@pytest.mark.e2e
def test_match_killed_mid_burst_loses_and_doubles_nothing(platform, professionals) -> None:
    assert len(professionals) >= PER_PERSON + 1
    apis = {p["email"]: Api(platform.url, p["apiKey"]) for p in professionals}
    people = valid_bsns(PEOPLE, start=300_000_000)
    # Person i is signalled by five of the six professionals (rotating), so every person has
    # professionals of at least two organisations: 200 matches.
    jobs = []
    for i, bsn in enumerate(people):
        chosen = [professionals[(i + k) % len(professionals)] for k in range(PER_PERSON)]
        jobs += [(p["email"], bsn) for p in chosen]
    jobs = [
        j
        for pair in itertools.zip_longest(*[jobs[k::PER_PERSON] for k in range(PER_PERSON)])
        for j in pair
        if j
    ]
    assert len(jobs) == PEOPLE * PER_PERSON

    signal_ids: dict[tuple[str, str], str] = {}

    def register(job: tuple[str, str]) -> None:
        email, bsn = job
        response = apis[email].signal(bsn)
        assert response.status_code == 201, response.text
        signal_ids[job] = response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(register, jobs[:300]))
        platform.kill("match")  # SIGKILL, mid-burst: events are in flight
        list(pool.map(register, jobs[300:]))
    platform.restart("match")

    # Every signal ends up in exactly one match with exactly the other four professionals.
    members_of: dict[str, set[str]] = {}
    for i, bsn in enumerate(people):
        members_of[bsn] = {professionals[(i + k) % len(professionals)]["email"] for k in range(PER_PERSON)}

    def involvement_settled() -> bool:
        for (email, _bsn), sid in list(signal_ids.items())[::37]:
            # 404 until match has caught up with the signal after its restart.
            response = apis[email].get(f"/v1/signals/{sid}/involvement")
            if response.status_code != 200 or len(response.json()["others"]) != PER_PERSON - 1:
                return False
        return True

    wait_until(involvement_settled, timeout=120, interval=1)
    for (email, bsn), sid in signal_ids.items():
        body = apis[email].get(f"/v1/signals/{sid}/involvement").json()
        assert {o["email"] for o in body["others"]} == members_of[bsn] - {email}
        assert body["match"] is not None

    # Every professional was mailed about every match they are in; no mail arrived twice.
    def matches_of(email: str) -> set[str]:
        ids: set[str] = set()
        for page in itertools.count(1):
            got = apis[email].get("/v1/matches", params={"pageSize": 100, "page": page}).json()["matches"]
            ids |= {m["id"] for m in got}
            if len(got) < 100:
                return ids

    expected = {email: matches_of(email) for email in apis}
    assert all(len(ids) >= PEOPLE * 0.7 for ids in expected.values())

    def mailed_matches(email: str) -> set[str]:
        found: set[str] = set()
        for mail in platform.mailbox.to(email):
            found |= set(re.findall(r"/matches/([0-9a-f-]{36})", mail.text()))
        return found

    wait_until(lambda: all(expected[e] <= mailed_matches(e) for e in apis), timeout=180, interval=2)
    assert platform.mailbox.received == len(platform.mailbox.mails()), "a mail was delivered twice"
