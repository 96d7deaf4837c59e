"""Faults and bad input: SMTP down then back, permanent refusals, malformed and oversize events."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb
from sluis.signal.v1 import signal_pb2

from devstack.mailbox import SmtpServer
from devstack.redis import free_port
from services.common.clock import FrozenClock
from services.notify.tests.helpers import contact, match_event, signal_event, wait_for
from services.notify.tests.receivers import CustomSmtp


def test_smtp_down_for_a_while_then_back_every_mail_arrives_exactly_once(start_notify, mailbox) -> None:
    port = free_port()
    notify = start_notify(port, max_attempts=30, retry_base_seconds=0.05, retry_cap_seconds=0.3)
    members = [contact(n) for n in range(1, 6)]
    events = [match_event(members) for _ in range(4)]  # 20 mails
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=events), timeout=5)

    # the server is down: attempts fail and are retried, nothing is lost or dead
    wait_for(lambda: notify.stats().get(("email", "retrying")) == 20)
    wait_for(lambda: notify.servicer.store is not None and _max_attempts(notify) >= 3)
    assert ("email", "dead") not in notify.stats()

    server = SmtpServer(mailbox, port).start()
    try:
        wait_for(lambda: notify.stats().get(("email", "sent")) == 20)
        assert len(mailbox.mails()) == 20
        assert mailbox.received == 20  # connection refused means nothing was handed over twice
        for m in members:
            assert len(mailbox.to(m.email)) == 4
    finally:
        server.stop()


def _max_attempts(notify) -> int:
    import psycopg

    with psycopg.connect(notify.settings.database_url) as conn:
        row = conn.execute("SELECT max(attempts) FROM deliveries").fetchone()
    return int(row[0] or 0) if row else 0


def test_permanently_refused_recipient_is_dead_at_once_others_arrive(start_notify, mailbox) -> None:
    server = CustomSmtp(mailbox, free_port(), refuse={"prof2@zorg.example"}).start()
    try:
        notify = start_notify(server.port)
        notify.stub.ApplyMatchEvents(
            pb.ApplyMatchEventsRequest(events=[match_event([contact(1), contact(2), contact(3)])]), timeout=5
        )
        wait_for(
            lambda: notify.stats().get(("email", "dead")) == 1 and notify.stats().get(("email", "sent")) == 2
        )
        dead = notify.stub.ListDeadLetters(pb.ListDeadLettersRequest(), timeout=5).dead_letters
        assert (dead[0].target, dead[0].attempts, dead[0].last_error) == (
            "zorg.example",
            1,
            "recipient refused 550",
        )
        assert "prof2" not in str(dead[0])  # never a full address
        assert len(mailbox.mails()) == 2 and not mailbox.to("prof2@zorg.example")
    finally:
        server.stop()


def _no_email(c):
    c.email = ""
    return c


def _bad_email(c, address: str = "prof1 at zorg"):
    c.email = address
    return c


@pytest.mark.parametrize("bad", [_no_email, _bad_email, lambda c: _bad_email(c, "a@@example.org")])
def test_a_bad_recipient_is_dead_lettered_alone_and_shown_to_its_organisation(notify, mailbox, bad) -> None:
    """Issue 14 row 7: one professional without a usable address never blocks the others."""
    bad_one = bad(contact(1, org="org-a"))
    event = match_event([bad_one, contact(2, org="org-b"), contact(3, org="org-c")])
    resp = notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)
    assert resp.accepted == 1
    wait_for(lambda: notify.stats().get(("email", "sent")) == 2)
    assert notify.stats()[("email", "dead")] == 1
    assert mailbox.to("prof2@zorg.example") and mailbox.to("prof3@zorg.example")
    # The bad recipient still has the notice in the portal inbox.
    assert notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1"), timeout=5).items
    # The organisation's admin sees it among its dead letters, without the address itself.
    mine = notify.stub.ListDeadLetters(pb.ListDeadLettersRequest(organisation_id="org-a"), timeout=5)
    assert [
        (d.channel, d.professional_id, d.organisation_id, d.attempts, d.last_error) for d in mine.dead_letters
    ] == [("email", "prof-1", "org-a", 0, "invalid address")]
    assert "@" not in str(mine.dead_letters[0])
    other = notify.stub.ListDeadLetters(pb.ListDeadLettersRequest(organisation_id="org-b"), timeout=5)
    assert not other.dead_letters
    # A later event of the same match reaches the others again: nothing is parked or stuck.
    later = match_event(
        [bad_one, contact(2, org="org-b"), contact(3, org="org-c")],
        kind=match_pb2.MATCH_EVENT_KIND_MEMBER_JOINED,
        match_id=event.match_id,
    )
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[later]), timeout=5)
    wait_for(lambda: notify.stats().get(("email", "sent")) == 4)
    assert notify.stats()[("email", "dead")] == 2


def _no_id(c):
    c.professional_id = ""
    return c


@pytest.mark.parametrize(
    ("make", "code", "reason"),
    [
        (
            lambda: match_event([_no_id(contact(1)), contact(2)]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown_recipient",
        ),
        (
            lambda: match_event([contact(1)], event_id=" "),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed_event",
        ),
        (
            lambda: match_event([contact(1)], match_id=" "),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed_event",
        ),
        (
            lambda: match_event([contact(1)], kind=match_pb2.MATCH_EVENT_KIND_UNSPECIFIED),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed_event",
        ),
        (
            lambda: match_event([contact(n) for n in range(201)]),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "too_many_members",
        ),
    ],
)
def test_bad_match_event_is_refused_and_nothing_is_queued(notify, mailbox, make, code, reason) -> None:
    good = match_event([contact(1), contact(2)])
    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[good, make()]), timeout=5)
    assert exc.value.code() == code
    assert ("sluis-reason", reason) in exc.value.trailing_metadata()
    assert "@" not in (exc.value.details() or "")
    assert notify.stats() == {}
    assert not notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1"), timeout=5).items
    # the good event alone is still new: the refused call left no trace
    resp = notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[good]), timeout=5)
    assert (resp.accepted, resp.duplicates) == (1, 0)


def test_oversize_batch_is_refused(notify) -> None:
    events = [match_event([contact(1), contact(2)]) for _ in range(1001)]
    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=events), timeout=10)
    assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("sluis-reason", "batch_too_large") in exc.value.trailing_metadata()
    assert notify.stats() == {}


def test_bad_signal_event_is_refused(notify) -> None:
    # (A professional without an e-mail address is no longer a malformed event: issue 14 row 7,
    # see test_a_bad_recipient_is_dead_lettered_alone_and_shown_to_its_organisation.)
    malformed = signal_event(contact(1))
    malformed.signal_id = ""
    no_professional = signal_event(_no_id(contact(1)))
    for event in (malformed, no_professional):
        with pytest.raises(grpc.RpcError) as exc:
            notify.stub.ApplySignalEvents(
                pb.ApplySignalEventsRequest(events=[signal_event(contact(2)), event]), timeout=5
            )
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    unspecified = signal_event(contact(1), kind=signal_pb2.SIGNAL_EVENT_KIND_UNSPECIFIED)
    with pytest.raises(grpc.RpcError):
        notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[unspecified]), timeout=5)
    assert notify.stats() == {}


def test_daily_digest_collects_mails_inbox_stays_immediate(start_notify, smtp_server, mailbox) -> None:
    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # 10:00 in Amsterdam
    notify = start_notify(smtp_server.port, clock=clock)
    prefs = pb.Preferences(professional_id="prof-1", digest=pb.DIGEST_DAILY)
    assert (
        notify.stub.SetPreferences(pb.SetPreferencesRequest(preferences=prefs), timeout=5).preferences
        == prefs
    )
    got = notify.stub.GetPreferences(
        pb.GetPreferencesRequest(professional_id="prof-1"), timeout=5
    ).preferences
    assert got.digest == pb.DIGEST_DAILY
    default = notify.stub.GetPreferences(
        pb.GetPreferencesRequest(professional_id="prof-2"), timeout=5
    ).preferences
    assert default.digest == pb.DIGEST_IMMEDIATE

    events = [match_event([contact(1), contact(2)]) for _ in range(2)]
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=events), timeout=5)
    wait_for(lambda: len(mailbox.to("prof2@zorg.example")) == 2)
    assert notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1"), timeout=5).unread_count == 2
    assert notify.stats()[("email", "held")] == 2
    assert notify.svc.call(notify.servicer.run_digests()) == 0  # created after today's 07:00

    clock.advance(timedelta(days=1))
    assert notify.svc.call(notify.servicer.run_digests()) == 1
    assert notify.svc.call(notify.servicer.run_digests()) == 0
    digest = wait_for(lambda: mailbox.to("prof1@zorg.example"))
    assert len(digest) == 1 and digest[0].subject == "SluiS: dagelijkse samenvatting"
    for event in events:
        assert f"https://portal.sluis.example/matches/{event.match_id}" in digest[0].text()
    assert "2 meldingen" in digest[0].text() and digest[0].html()
    stats = notify.stats()
    assert stats[("email", "digested")] == 2 and stats[("email", "sent")] == 3

    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.SetPreferences(
            pb.SetPreferencesRequest(preferences=pb.Preferences(professional_id="prof-1")), timeout=5
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_switching_back_to_immediate_releases_held_mails(notify, mailbox) -> None:
    daily = pb.Preferences(professional_id="prof-1", digest=pb.DIGEST_DAILY)
    notify.stub.SetPreferences(pb.SetPreferencesRequest(preferences=daily), timeout=5)
    notify.stub.ApplyMatchEvents(
        pb.ApplyMatchEventsRequest(events=[match_event([contact(1), contact(2)])]), timeout=5
    )
    wait_for(lambda: notify.stats().get(("email", "held")) == 1)
    immediate = pb.Preferences(professional_id="prof-1", digest=pb.DIGEST_IMMEDIATE)
    notify.stub.SetPreferences(pb.SetPreferencesRequest(preferences=immediate), timeout=5)
    wait_for(lambda: len(mailbox.to("prof1@zorg.example")) == 1)
