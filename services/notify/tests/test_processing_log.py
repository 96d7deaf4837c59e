"""Notify's processing-log lines (issue 13): each mail sent, webhook delivered and inbox item
created or read is a disclosure, logged under the person the notice is about (sealed by
match), in the transaction of the state change; found only by the person's lookup tags."""

import base64

import grpc
import psycopg
import pytest
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb
from sluis.types.v1 import processing_log_pb2 as lpb

from services.common import processing_log
from services.notify.tests.helpers import contact, match_event, signal_event, wait_for
from services.notify.tests.receivers import WebhookReceiver

SECRET = "een-lang-geheim-van-de-organisatie"


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET.encode()).start()
    yield r
    r.stop()


def about(*pseudonyms: str) -> list[lpb.LogSubject]:
    out = []
    for p in pseudonyms:
        sealed = processing_log.seal(p)
        out.append(lpb.LogSubject(subject_id=sealed.subject_id, subject_tag=sealed.tag))
    return out


def lines(notify, *pseudonyms: str) -> list[lpb.ProcessingLogLine]:
    tags = [processing_log.keys().lookup_tag(p) for p in pseudonyms]
    return list(
        notify.stub.ListProcessingLog(pb.ListProcessingLogRequest(subject_tags=tags), timeout=5).lines
    )


def test_mail_webhook_inbox_item_and_read_are_logged_per_person(
    start_notify, smtp_server, receiver, mailbox
) -> None:
    notify = start_notify(smtp_server.port, secret_key=base64.b64encode(b"n" * 32).decode())
    hook = notify.stub.SetWebhook(
        pb.SetWebhookRequest(webhook=pb.Webhook(organisation_id="org-1", url=receiver.url), secret=SECRET),
        timeout=5,
    ).webhook
    # A family match: about the parent and a child, both get every line.
    event = match_event([contact(1), contact(2)])
    event.match_kind = match_pb2.MATCH_KIND_FAMILY
    event.log_subjects.extend(about("1.ouder", "1.kind"))
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)
    wait_for(
        lambda: notify.stats().get(("email", "sent")) == 2 and notify.stats().get(("webhook", "sent")) == 1
    )
    wait_for(lambda: len([x for x in lines(notify, "1.kind") if x.name == "notify.mail_sent"]) == 2)

    # Issue 18: the family match is a "gezinsmatch" in the mails and the inbox.
    assert {m.subject for m in mailbox.mails()} == {"SluiS: nieuwe gezinsmatch"}
    item = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1"), timeout=5).items[0]
    assert item.title == "Nieuwe gezinsmatch" and "hetzelfde gezin" in item.body
    notify.stub.MarkInboxItemRead(
        pb.MarkInboxItemReadRequest(professional_id="prof-1", item_id=item.item_id), timeout=5
    )

    for person in ("1.ouder", "1.kind"):
        found = lines(notify, person)
        seen = sorted((x.name, x.attributes["sluis.channel"], x.actor_id) for x in found)
        assert seen == [
            ("notify.inbox_item", "inbox", "prof-1"),
            ("notify.inbox_item", "inbox", "prof-2"),
            ("notify.inbox_item_read", "inbox", "prof-1"),
            ("notify.mail_sent", "e-mail", "prof-1"),
            ("notify.mail_sent", "e-mail", "prof-2"),
            ("notify.webhook_delivered", "webhook", hook.webhook_id),
        ]
        for x in found:
            assert x.processing_activity_id == "match-melding" and x.resource == "sluis-notify"
            assert x.attributes["sluis.match_id"] == event.match_id
            assert x.attributes["sluis.organisation_id"] in ("org-1", "org-2")
            assert x.status_code == "ok" and len(x.trace_id) == 32 and len(x.operation_id) == 16
    # Nobody else's lines; the log holds no pseudonym in the clear.
    assert lines(notify, "1.iemand-anders") == []
    with psycopg.connect(notify.settings.database_url) as conn:
        stored = conn.execute(
            "SELECT subject_id, subject_tag, attributes::text FROM processing_log"
        ).fetchall()
    assert stored and not any(b"1.kind" in bytes(r[0]) or "1.kind" in r[2] for r in stored)


def test_daily_digest_logs_each_mail_folded_in_and_reminders_log_nothing(notify, mailbox) -> None:
    notify.stub.SetPreferences(
        pb.SetPreferencesRequest(
            preferences=pb.Preferences(professional_id="prof-1", digest=pb.DIGEST_DAILY)
        ),
        timeout=5,
    )
    events = [match_event([contact(1), contact(2)], recipients=[contact(1)]) for _ in range(2)]
    for n, e in enumerate(events):
        e.log_subjects.extend(about(f"1.persoon-{n}"))
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=events), timeout=5)
    notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[signal_event(contact(1))]), timeout=5)
    assert [x.name for x in lines(notify, "1.persoon-0")] == ["notify.inbox_item"]  # held, not sent
    with psycopg.connect(notify.settings.database_url) as conn:
        conn.execute("UPDATE deliveries SET created_at = created_at - interval '2 days' WHERE state = 'held'")
    notify.svc.call(notify.servicer.run_digests())
    wait_for(lambda: all(len(lines(notify, f"1.persoon-{n}")) == 2 for n in (0, 1)))
    for n in (0, 1):
        sent = [x for x in lines(notify, f"1.persoon-{n}") if x.name == "notify.mail_sent"]
        assert [(x.actor_id, x.attributes["sluis.notice"]) for x in sent] == [("prof-1", "match_created")]
    with psycopg.connect(notify.settings.database_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM processing_log").fetchone() or (0,)
    assert count == 4  # the reminder is about no person: no line


def test_reading_the_log_needs_a_tag(notify) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.ListProcessingLog(pb.ListProcessingLogRequest(), timeout=5)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
