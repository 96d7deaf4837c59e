"""Issue 14, continuous proof: registrations and ends keep coming while every service is killed.

A seeded random schedule SIGKILLs each back-end service and the gateway (the platform's
Supervisor restarts them with back-off, like Kubernetes; this also proves row 13). Afterwards:
every accepted signal is stored exactly once, every match that should exist exists exactly
once, every member got exactly one mail per event, and nothing was stored for a refused
request. `make chaos` runs the same test longer (SLUIS_CHAOS_SECONDS, SLUIS_CHAOS_SEED).
"""

import os
import re

from tests import chaos
from tests.helpers import wait_until

SEED = int(os.environ.get("SLUIS_CHAOS_SEED", "14"))
SECONDS = float(os.environ.get("SLUIS_CHAOS_SECONDS", "20"))


def _one(platform, query: str) -> int:
    return int(chaos._rows(platform.database_urls[query.split(":", 1)[0]], query.split(":", 1)[1])[0][0])


def test_every_service_killed_under_load_loses_and_doubles_nothing(platform, professionals) -> None:
    before = chaos.stored_signals(platform)
    result = chaos.run(platform, professionals, seed=SEED, seconds=SECONDS)
    jobs = result.jobs
    assert {service for _, service in result.kills} == {"identity", "signal", "match", "notify", "gateway"}
    assert result.restarts >= len(result.kills)

    # Every accepted signal is stored exactly once; a refused request stored nothing.
    accepted = [sid for job in jobs for sid in job.signal_ids.values()]
    assert len(accepted) == len(set(accepted))
    stored = {sid: status for sid, status in chaos.stored_signals(platform).items() if sid not in before}
    assert set(stored) == set(accepted)
    ended = {sid for job in jobs for sid in job.ended}
    assert {sid for sid, status in stored.items() if status != "active"} == ended
    refused = sum(job.refused for job in jobs)
    assert refused > 0 and all(not job.signal_ids for job in jobs if job.kind == "rejected")

    # Every match that should exist exists exactly once, with exactly the right members.
    expected = {frozenset(job.signal_ids.values()) for job in jobs if job.kind == "match"}
    assert len(expected) > 0

    def matches_settled() -> bool:
        got = list(chaos.match_members(platform).values())
        return len(got) == len(expected) and {frozenset(m) for m in got} == expected

    wait_until(matches_settled, timeout=120, interval=1)
    assert _one(platform, "match:SELECT count(*) FROM matches") == len(expected)

    # Every member got exactly one mail per event: every event wrote one inbox item per
    # recipient, and the mailbox (one file per Message-ID) holds exactly one mail for it.
    def mail_settled() -> bool:
        pending = _one(
            platform,
            "notify:SELECT count(*) FROM deliveries WHERE channel = 'email' AND state IN ('queued', 'retrying')",
        )
        outbox = _one(platform, "match:SELECT count(*) FROM outbox") + _one(
            platform, "match:SELECT count(*) FROM pending_notices"
        )
        return pending == 0 and outbox == 0

    wait_until(mail_settled, timeout=120, interval=1)
    assert _one(platform, "notify:SELECT count(*) FROM deliveries WHERE state = 'dead'") == 0
    inbox = dict(
        chaos._rows(
            platform.database_urls["notify"], "SELECT professional_id, count(*) FROM inbox_items GROUP BY 1"
        )
    )
    events_checked = 0
    members_by_match = chaos.match_members(platform)
    signal_owner = {
        sid: pro["email"]
        for job in jobs
        for pro in job.professionals
        for sid in [job.signal_ids.get(pro["email"])]
        if sid
    }
    for pro in professionals:
        mails = platform.mailbox.to(pro["email"])
        assert len(mails) == inbox.get(pro["id"], 0), pro["email"]
        events_checked += len(mails)
        mailed = {m for mail in mails for m in re.findall(r"/matches/([0-9a-f-]{36})", mail.text())}
        mine = {
            mid
            for mid, sids in members_by_match.items()
            if any(signal_owner.get(s) == pro["email"] for s in sids)
        }
        assert mine <= mailed, pro["email"]

    print(
        f"\nchaos seed={SEED} seconds={SECONDS:g}: {len(result.kills)} kills survived"
        f" ({', '.join(f'{s}@{t:g}s' for t, s in result.kills)}), {result.restarts} restarts,"
        f" {result.requests} requests ({result.transient_answers} transient failures retried),"
        f" {len(accepted)} signals accepted, {len(ended)} ended, {refused} refused,"
        f" {len(expected)} matches and {events_checked} mails (events x members) checked,"
        f" {platform.mailbox.received - len(platform.mailbox.mails())} redelivered copies recognised"
    )
