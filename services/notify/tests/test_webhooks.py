"""Signed webhooks to a real HTTP receiver that verifies every request."""

import base64
import json

import grpc
import psycopg
import pytest
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb

from services.notify.tests.helpers import contact, match_event, wait_for
from services.notify.tests.receivers import WebhookReceiver

SECRET = "een-lang-geheim-van-de-organisatie"
KEY = base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET.encode()).start()
    yield r
    r.stop()


def set_hook(notify, org: str, url: str, kinds: list[str] | None = None, secret: str = SECRET) -> pb.Webhook:
    req = pb.SetWebhookRequest(
        webhook=pb.Webhook(organisation_id=org, url=url, kinds=kinds or []), secret=secret
    )
    return notify.stub.SetWebhook(req, timeout=5).webhook


def test_webhook_is_signed_and_goes_to_each_subscribed_organisation(
    start_notify, smtp_server, receiver
) -> None:
    notify = start_notify(smtp_server.port, secret_key=KEY)
    hook1 = set_hook(notify, "org-1", receiver.url)
    set_hook(notify, "org-2", receiver.url, kinds=["match_closed"])  # not this kind
    set_hook(notify, "org-9", receiver.url)  # no recipient of this organisation
    assert hook1.webhook_id and hook1.organisation_id == "org-1" and hook1.created_at.seconds

    listed = notify.stub.ListWebhooks(pb.ListWebhooksRequest(organisation_id="org-1"), timeout=5)
    assert [h.webhook_id for h in listed.webhooks] == [hook1.webhook_id]
    assert SECRET.encode() not in listed.SerializeToString()
    with psycopg.connect(notify.settings.database_url) as conn:
        stored = conn.execute("SELECT secret, secret_wrapped FROM webhooks").fetchall()
    assert all(wrapped and SECRET.encode() not in bytes(s) for s, wrapped in stored)

    event = match_event([contact(1), contact(2)], coordinator=0)
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)
    wait_for(lambda: notify.stats().get(("webhook", "sent")) == 1)
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)  # replay
    notify.svc.call(notify.svc.service.notify_workers[0].drain())

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.verified and request.path == "/sluis/hook"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["kind"] == "match_created" and body["match_id"] == event.match_id
    assert body["event_id"] == event.event_id and body["occurred_at"]
    assert [m["email"] for m in body["members"]] == ["prof1@zorg.example", "prof2@zorg.example"]
    assert body["members"][0]["is_coordinator"] is True
    assert set(body["members"][0]) == {
        "professional_id", "name", "role", "phone", "email", "organisation_id", "organisation_name", "is_coordinator"
    }  # fmt: skip


def test_webhook_management_is_per_organisation(notify, receiver) -> None:
    hook = set_hook(notify, "org-1", receiver.url)
    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.DeleteWebhook(
            pb.DeleteWebhookRequest(organisation_id="org-2", webhook_id=hook.webhook_id), timeout=5
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    updated = notify.stub.SetWebhook(
        pb.SetWebhookRequest(
            webhook=pb.Webhook(
                webhook_id=hook.webhook_id, organisation_id="org-1", url=receiver.url, kinds=["match_closed"]
            )
        ),
        timeout=5,
    ).webhook
    assert list(updated.kinds) == ["match_closed"]
    for bad in (
        pb.SetWebhookRequest(
            webhook=pb.Webhook(organisation_id="org-1", url="ftp://x.example/"), secret=SECRET
        ),
        pb.SetWebhookRequest(webhook=pb.Webhook(organisation_id="org-1", url=receiver.url), secret="kort"),
        pb.SetWebhookRequest(webhook=pb.Webhook(organisation_id="org-1", url=receiver.url)),
        pb.SetWebhookRequest(
            webhook=pb.Webhook(organisation_id="org-1", url=receiver.url, kinds=["x"]), secret=SECRET
        ),
        pb.SetWebhookRequest(webhook=pb.Webhook(url=receiver.url), secret=SECRET),
    ):
        with pytest.raises(grpc.RpcError) as invalid:
            notify.stub.SetWebhook(bad, timeout=5)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    notify.stub.DeleteWebhook(
        pb.DeleteWebhookRequest(organisation_id="org-1", webhook_id=hook.webhook_id), timeout=5
    )
    assert not notify.stub.ListWebhooks(pb.ListWebhooksRequest(organisation_id="org-1"), timeout=5).webhooks


def test_receiver_answering_500_is_retried_with_backoff_then_dead_lettered(
    start_notify, smtp_server, receiver
) -> None:
    receiver.status = 500
    notify = start_notify(smtp_server.port, max_attempts=4, retry_base_seconds=0.2, retry_cap_seconds=5.0)
    set_hook(notify, "org-1", receiver.url)
    event = match_event([contact(1), contact(2)], kind=match_pb2.MATCH_EVENT_KIND_CLOSED)
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)

    wait_for(lambda: notify.stats().get(("webhook", "dead")) == 1)
    assert len(receiver.requests) == 4 and all(r.verified for r in receiver.requests)
    # The waits between attempts are full jitter (services.common.backoff, tested there):
    # any wait from 0 up to 0.2, 0.4, 0.8 s, so their order is not asserted here.

    dead = notify.stub.ListDeadLetters(pb.ListDeadLettersRequest(), timeout=5).dead_letters
    assert len(dead) == 1
    assert (dead[0].channel, dead[0].target, dead[0].attempts, dead[0].last_error) == (
        "webhook",
        "127.0.0.1",
        4,
        "http 500",
    )
    assert notify.stats()[("email", "sent")] == 2  # mails are not held up by the webhook

    receiver.status = 200
    notify.stub.RetryDeadLetter(pb.RetryDeadLetterRequest(delivery_id=dead[0].delivery_id), timeout=5)
    wait_for(lambda: notify.stats().get(("webhook", "sent")) == 1)
    assert len(receiver.requests) == 5
    assert not notify.stub.ListDeadLetters(pb.ListDeadLettersRequest(), timeout=5).dead_letters
    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.RetryDeadLetter(pb.RetryDeadLetterRequest(delivery_id=dead[0].delivery_id), timeout=5)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_receiver_refusing_for_good_is_dead_at_once(notify, receiver) -> None:
    receiver.status = 410
    set_hook(notify, "org-1", receiver.url)
    notify.stub.ApplyMatchEvents(
        pb.ApplyMatchEventsRequest(events=[match_event([contact(1), contact(2)])]), timeout=5
    )
    wait_for(lambda: notify.stats().get(("webhook", "dead")) == 1)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f000001/x",
        "http://[::1]/x",
        "http://10.0.0.1/x",
    ],
)
def test_a_webhook_to_an_internal_address_is_refused_at_registration(start_notify, smtp_server, url) -> None:
    """Issue 14 row 8: no allow-list, so no internal, loopback or metadata destinations."""
    notify = start_notify(smtp_server.port, webhook_allow_networks=())
    with pytest.raises(grpc.RpcError) as exc:
        set_hook(notify, "org-1", url)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ("sluis-reason", "webhook_url_not_allowed") in exc.value.trailing_metadata()
    assert not notify.stub.ListWebhooks(pb.ListWebhooksRequest(organisation_id="org-1"), timeout=5).webhooks


def test_the_destination_is_checked_again_at_delivery(start_notify, smtp_server, receiver) -> None:
    """Registered while allowed; by delivery time the address is no longer acceptable (as after
    a DNS change): the call is refused and dead-lettered, the receiver never contacted."""
    allowed = start_notify(smtp_server.port)  # the fixture allows 127.0.0.1
    set_hook(allowed, "org-1", receiver.url)
    allowed.svc.stop()
    strict = start_notify(smtp_server.port, url=allowed.settings.database_url, webhook_allow_networks=())
    event = match_event([contact(1), contact(2)])
    strict.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)
    wait_for(lambda: strict.stats().get(("webhook", "dead")) == 1)
    dead = strict.stub.ListDeadLetters(pb.ListDeadLettersRequest(organisation_id="org-1"), timeout=5)
    assert [(d.channel, d.attempts, d.last_error) for d in dead.dead_letters] == [
        ("webhook", 1, "refused: internal_address")
    ]
    assert not receiver.requests
    assert strict.stats()[("email", "sent")] == 2
