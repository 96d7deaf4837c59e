"""Account mails (issue 16): queued like every mail, sent over real SMTP, idempotent on the
mail id, no inbox item, and purged an hour after sending (the body holds a one-time link)."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import psycopg
import pytest
from sluis.notify.v1 import notify_pb2 as pb

from services.common.retention import purge
from services.notify import accounts
from services.notify.retention import ACCOUNT_MAIL_RETENTION, RULES
from services.notify.tests.helpers import wait_for

LINK = "https://portal.sluis.example/uitnodiging/abcdefghijklmnopqrstuvwxyz0123456789"


def invitation(mail_id: str = "inv-1", **changes: object) -> pb.SendAccountMailRequest:
    fields: dict[str, object] = {
        "mail_id": mail_id,
        "kind": pb.ACCOUNT_MAIL_KIND_INVITATION,
        "recipient_email": "wil@kredietbank.example",
        "recipient_name": "Wil Wachter",
        "link": LINK,
        "organisation_name": "Kredietbank",
        "valid_until": "05-03-2026 09:00",
    }
    fields.update(changes)
    return pb.SendAccountMailRequest(**fields)  # type: ignore[arg-type]


def test_an_invitation_is_mailed_once(notify, mailbox) -> None:
    assert notify.stub.SendAccountMail(invitation(), timeout=5).queued
    assert not notify.stub.SendAccountMail(invitation(), timeout=5).queued  # same mail id
    wait_for(lambda: notify.stats().get(("email", "sent")) == 1)
    mail = mailbox.to("wil@kredietbank.example")[0]
    assert mail.subject == "Uitnodiging voor SluiS"
    assert LINK in mail.text() and LINK in mail.html()
    assert "Kredietbank" in mail.text() and "05-03-2026 09:00" in mail.text()
    assert "Beste Wil Wachter," in mail.text()
    # Not a match notice: no inbox item for anybody.
    assert not notify.stub.ListInbox(pb.ListInboxRequest(professional_id="inv-1"), timeout=5).items


def test_a_change_notice_has_no_link(notify, mailbox) -> None:
    notify.stub.SendAccountMail(invitation("chg-1", kind=pb.ACCOUNT_MAIL_KIND_CHANGED, link=""), timeout=5)
    wait_for(lambda: len(mailbox.mails()) == 1)
    assert "http" not in mailbox.mails()[0].text()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": pb.ACCOUNT_MAIL_KIND_UNSPECIFIED}, "invalid_kind"),
        ({"recipient_email": "geen-adres"}, "invalid_email"),
        ({"link": ""}, "invalid_link"),
        ({"mail_id": ""}, ""),
    ],
)
def test_bad_requests_are_refused(notify, changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        notify.stub.SendAccountMail(invitation(**changes), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_body_is_purged_an_hour_after_sending(notify, mailbox) -> None:
    notify.stub.SendAccountMail(invitation(), timeout=5)
    wait_for(lambda: notify.stats().get(("email", "sent")) == 1)
    url = notify.settings.database_url
    now = datetime.now(UTC)

    async def run(at: datetime) -> dict[str, int]:
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(url, min_size=1, max_size=1) as p:
            return await purge(p, "notify", RULES, at)

    asyncio.run(run(now + timedelta(minutes=30)))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (1,)
    asyncio.run(run(now + ACCOUNT_MAIL_RETENTION + timedelta(minutes=1)))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)


def test_render_every_kind_in_dutch() -> None:
    for kind in accounts.KINDS:
        mail = accounts.render(kind, "Wil", "" if kind == accounts.CHANGED else LINK, "Kredietbank", "")
        assert mail.subject.startswith(("Uitnodiging", "SluiS")) and "Beste Wil," in mail.text
