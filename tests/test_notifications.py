"""Notifications that are right (issue 17): what match decides, turned into mails by notify.

A six-member match in which, in one change, the coordinator's signal is ended as unjustified
and a new professional joins. Match's decision goes through the real contract (MatchEvent
bytes) into notify's plan, so the test reads the mails each professional would get:
- one event makes one mail per recipient (left + new coordinator + joined are combined);
- the member who left gets a short mail without anybody's contact details;
- no mail names its recipient as the newcomer;
- the daily digest gathers a day's mails into one (real PostgreSQL, exactly once).
"""

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sluis.match.v1 import match_pb2

from services.common.db import open_pool
from services.match import convert as match_convert
from services.match import domain as match_domain
from services.notify import domain
from services.notify.server import MIGRATIONS, match_notice
from services.notify.store import NotifyStore

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AGREE = match_domain.CoordinationPolicy(
    takeover_acceptance=True, succession_offer=True, handover_suggestion=True
)


def involvement(n: int, minute: int, *, active: bool = True) -> match_domain.Involvement:
    contact = match_domain.Contact(
        f"p{n}",
        f"Naam{n} Achternaam",
        "Casusregisseur",
        f"06-1000000{n}",
        f"p{n}@org{n}.example",
        f"o{n}",
        f"Org {n}",
    )
    return match_domain.Involvement(
        signal_id=f"s{n}",
        pseudonym="1.x",
        contact=contact,
        may_coordinate=True,
        domains=(),
        registered_at=T0 + timedelta(minutes=minute),
        active=active,
        version=1 if active else 2,
    )


def six_member_match() -> tuple[list[match_domain.Involvement], match_domain.Match]:
    involvements = [involvement(n, n) for n in range(1, 7)]
    created = match_domain.decide(
        involvements, None, match_domain.CoordinatorRules(), pseudonym="1.x", now=T0, new_match_id="m-6"
    )
    assert created.after is not None and created.after.coordinator_id == "p1"
    return involvements, created.after


def mails_of(decision: match_domain.Decision) -> list[tuple[domain.Contact, domain.Mail, domain.Notice]]:
    """Every mail notify would send for the decision's events, through the real contract."""
    out = []
    for i, change in enumerate(decision.changes):
        event = match_pb2.MatchEvent.FromString(match_convert.change_to_event(change, f"e{i}", NOW, False))
        notice = match_notice(event, NOW)
        _, deliveries = domain.plan(notice, now=NOW, portal_url="https://p", daily_digest=set(), webhooks=())
        for recipient in notice.recipients:
            assert any(d.recipient == recipient.professional_id for d in deliveries)
            out.append((recipient, domain.render_mail(notice, recipient, "https://p"), notice))
    return out


def mails_after(
    involvements: list[match_domain.Involvement], match: match_domain.Match
) -> list[tuple[domain.Contact, domain.Mail, domain.Notice]]:
    decision = match_domain.decide(
        involvements,
        match,
        match_domain.CoordinatorRules(),
        pseudonym="1.x",
        now=NOW,
        new_match_id="x",
        policy=AGREE,
    )
    return mails_of(decision)


def churn() -> list[tuple[domain.Contact, domain.Mail, domain.Notice]]:
    """The coordinator's signal ended as unjustified while p7 joins, in one change."""
    involvements, match = six_member_match()
    involvements[0] = replace(involvements[0], active=False, version=2)
    involvements.append(involvement(7, 60))
    return mails_after(involvements, match)


def test_one_event_makes_one_mail_per_recipient() -> None:
    mails = churn()
    per_recipient = Counter(r.professional_id for r, _, _ in mails)
    assert per_recipient == Counter({f"p{n}": 1 for n in range(1, 8)})
    # The remaining members read who left, who joined and who coordinates now in one mail.
    stayed = next(m for r, m, _ in mails if r.professional_id == "p3")
    assert "Naam7 Achternaam (Org 7) is nu ook betrokken" in stayed.text
    assert "Naam1 Achternaam (Org 1) is niet meer betrokken" in stayed.text
    assert "Naam2 Achternaam (Org 2) is nu de matchregisseur" in stayed.text
    # The successor is offered the role in their one mail.
    successor = next(m for r, m, _ in mails if r.professional_id == "p2")
    assert "U wordt gevraagd de rol van matchregisseur op u te nemen" in successor.text


def test_a_member_who_leaves_gets_no_contact_details() -> None:
    leaver, mail, notice = next(x for x in churn() if x[0].professional_id == "p1")
    assert "U bent niet meer betrokken" in mail.text
    for other in range(2, 8):
        for detail in (f"06-1000000{other}", f"p{other}@org{other}.example", f"Naam{other}"):
            assert detail not in mail.text and detail not in mail.html
    assert "Telefoon" not in mail.text and "E-mail:" not in mail.text
    assert "/matches/" not in mail.text  # the match is no longer theirs to open
    # Their organisation's webhook gets no member list either.
    hook = domain.WebhookTarget("w1", leaver.organisation_id, "https://hook.example", ())
    _, deliveries = domain.plan(notice, now=NOW, portal_url="https://p", daily_digest=set(), webhooks=[hook])
    body = next(d.body_text for d in deliveries if d.channel == domain.WEBHOOK)
    assert "06-1000000" not in body and '"members": []' in body


def test_no_mail_names_its_recipient_as_the_newcomer() -> None:
    mails = churn()
    newcomer = next(m for r, m, _ in mails if r.professional_id == "p7")
    assert "U bent nu betrokken bij een match" in newcomer.text
    for recipient, mail, _ in mails:
        body = mail.text.split("\n", 1)[1]  # after the greeting
        assert f"{recipient.name} ({recipient.organisation_name}) is nu ook betrokken" not in body
        assert f"{recipient.name} ({recipient.organisation_name}) is niet meer betrokken" not in body


def test_a_burst_of_joiners_each_told_they_joined() -> None:
    """Several newcomers in one event: each is told of their own entry, never named to themselves."""
    involvements, match = six_member_match()
    mails = mails_after([*involvements, involvement(7, 60), involvement(8, 61)], match)
    for pid in ("p7", "p8"):
        recipient, mail, _ = next(x for x in mails if x[0].professional_id == pid)
        assert mail.text.split("\n", 1)[1].count(recipient.name) == 0
        assert "U bent nu betrokken bij een match" in mail.text
    old = next(m for r, m, _ in mails if r.professional_id == "p3")
    assert "Naam7 Achternaam (Org 7) en Naam8 Achternaam (Org 8) zijn nu ook betrokken" in old.text


def test_the_daily_digest_gathers_a_day_into_one_mail(new_database) -> None:
    """p3 chose the daily digest: a day's three events become one digest mail, exactly once;
    the inbox still gets each item at once."""
    url = new_database("notify", MIGRATIONS)
    p3 = domain.Contact("p3", "Naam3", email="p3@org3.example", organisation_id="o3")
    p4 = domain.Contact("p4", "Naam4", email="p4@org4.example", organisation_id="o4")
    members = (domain.Member(p3), domain.Member(p4, is_coordinator=True))

    def notice(n: int, at: datetime) -> domain.Notice:
        kind = ("member_joined", "member_left", "coordinator_changed")[n % 3]
        return domain.Notice(f"d{n}", kind, at, (p3, p4), match_id=f"m{n}", members=members, subject=p4)

    async def scenario() -> None:
        pool = await open_pool(url, name="notify-digest-test", max_size=2)
        store = NotifyStore(pool)
        try:
            await store.set_digest("p3", domain.DIGEST_DAILY, NOW)
            day = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
            for n in range(3):
                at = day + timedelta(hours=n * 3)

                def planner(notice, daily, hooks, at=at):
                    return domain.plan(
                        notice, now=at, portal_url="https://p", daily_digest=daily, webhooks=hooks
                    )

                await store.apply([notice(n, at)], at, planner)
            # An event after the digest moment waits for the next day's digest.
            next_day = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)

            def later_planner(notice, daily, hooks):
                return domain.plan(
                    notice, now=next_day, portal_url="https://p", daily_digest=daily, webhooks=hooks
                )

            await store.apply([notice(3, next_day)], next_day, later_planner)
            moment = domain.last_digest_moment(next_day, 7)  # 25 Nov 07:00 Amsterdam

            made: list[list[str]] = []

            def render(name: str, summaries: list[str]) -> domain.Mail:
                made.append(summaries)
                return domain.render_digest(name, summaries, "https://p")

            assert await store.fold_digests(next_day, moment, render) == 1
            assert await store.fold_digests(next_day, moment, render) == 0  # exactly once
            assert len(made) == 1 and len(made[0]) == 3
            states = Counter({(c, s): n for c, s, n in await store.stats()})
            # p4: four immediate mails; p3: three folded into one digest, one held for tomorrow.
            assert states[("email", "digested")] == 3 and states[("email", "held")] == 1
            assert states[("email", "queued")] == 4 + 1
            inbox = await store.list_inbox("p3", unread_only=False, limit=10, after=None)
            assert len(inbox[0]) == 4
        finally:
            await pool.close()

    asyncio.run(scenario())
