import dataclasses
import json
from datetime import UTC, datetime

import pytest
from sluis.signal.v1 import signal_pb2

from services.common.errors import DomainError, InvalidArgument, ResourceExhausted
from services.notify import domain
from services.notify.server import signal_notice
from services.notify.tests.helpers import contact as pb_contact

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def contact(n: int, **changes: str) -> domain.Contact:
    base = domain.Contact(f"p{n}", f"Prof {n}", "rol", f"010-{n}", f"p{n}@zorg.example", f"o{n}", f"Org {n}")
    return dataclasses.replace(base, **changes)


def notice(**changes: object) -> domain.Notice:
    members = (domain.Member(contact(1)), domain.Member(contact(2), is_coordinator=True))
    base = domain.Notice("e1", "match_created", NOW, (contact(1), contact(2)), match_id="m1", members=members)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("a@zorg.example", True),
        ("first.last+tag@sub.gemeente.nl", True),
        ("", False),
        ("no-at-sign", False),
        ("a@b", False),
        ("a b@zorg.example", False),
        ("a@zorg.example\r\nBcc: x@y.nl", False),
        ("<a@zorg.example>", False),
        ("a,b@zorg.example", False),
        ("a@zorg.", False),
        ("jan_de.vries@sub_domein.gemeente.nl", True),
        ("x" * 250 + "@zorg.example", False),
    ],
)
def test_valid_email(address: str, valid: bool) -> None:
    assert domain.valid_email(address) is valid


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({}, None, None),
        ({"event_id": ""}, InvalidArgument, "malformed_event"),
        ({"event_id": "x" * 101}, InvalidArgument, "malformed_event"),
        ({"kind": ""}, InvalidArgument, "malformed_event"),
        ({"match_id": ""}, InvalidArgument, "malformed_event"),
        ({"match_id": "../etc"}, InvalidArgument, "malformed_event"),
        ({"kind": "signal_lapsing", "match_id": "", "signal_id": ""}, InvalidArgument, "malformed_event"),
        # Issue 14 row 7: a bad address no longer refuses the event (its mail is dead-lettered).
        ({"recipients": (contact(1, email=""),)}, None, None),
        ({"recipients": (contact(1, email="a@@example.org"),)}, None, None),
        ({"recipients": (contact(1, professional_id=""),)}, InvalidArgument, "unknown_recipient"),
        ({"recipients": (contact(1, name="Jan\r\nBcc: x@y.nl"),)}, InvalidArgument, "invalid_characters"),
        ({"members": (domain.Member(contact(1, role="x" * 400)),)}, InvalidArgument, "field_too_long"),
        (
            {"members": tuple(domain.Member(contact(i)) for i in range(201))},
            ResourceExhausted,
            "too_many_members",
        ),
        ({"recipients": ()}, None, None),
    ],
)
def test_check_notice(
    changes: dict[str, object], error: type[DomainError] | None, reason: str | None
) -> None:
    if error is None:
        domain.check_notice(notice(**changes))
        return
    with pytest.raises(error) as exc:
        domain.check_notice(notice(**changes))
    assert exc.value.reason == reason
    # details never echo the values
    assert "@" not in exc.value.detail and "Jan" not in exc.value.detail


def test_batch_limit() -> None:
    domain.check_event_batch(domain.MAX_EVENTS_PER_CALL)
    with pytest.raises(ResourceExhausted):
        domain.check_event_batch(domain.MAX_EVENTS_PER_CALL + 1)


@pytest.mark.parametrize("kind", domain.MATCH_KINDS + domain.SIGNAL_KINDS)
def test_every_kind_renders_dutch_text_and_html_with_a_link(kind: str) -> None:
    n = notice(kind=kind, subject=contact(2), signal_id="s1" if kind in domain.SIGNAL_KINDS else "")
    if kind in domain.SIGNAL_KINDS:
        n = dataclasses.replace(n, match_id="", members=())
    mail = domain.render_mail(n, contact(1), "https://portal.example/")
    assert mail.subject == domain.SUBJECTS[kind] and mail.subject.startswith("SluiS: ")
    path = "/matches/m1" if kind in domain.MATCH_KINDS else "/signals/s1"
    assert f"https://portal.example{path}" in mail.text
    assert f'href="https://portal.example{path}"' in mail.html
    assert mail.html.startswith("<!DOCTYPE html>") and 'lang="nl"' in mail.html
    assert "Beste Prof 1," in mail.text
    assert mail.summary.startswith(domain.TITLES[kind])


@pytest.mark.parametrize("kind", domain.MATCH_KINDS)
def test_a_family_match_is_a_gezinsmatch_in_every_text(kind: str) -> None:
    """Issue 18: mails and inbox items about a family match say "gezinsmatch"; the role keeps
    its name, and so do names that happen to hold the word."""
    named = contact(2, name="Match de Vries")
    members = (domain.Member(contact(1)), domain.Member(named, is_coordinator=True))
    person = notice(kind=kind, subject=named, joined=(named,), left=(named,), members=members)
    family = dataclasses.replace(person, family=True)
    mail, plain = (
        domain.render_mail(family, contact(1), "https://p"),
        domain.render_mail(person, contact(1), "https://p"),
    )
    assert "gezinsmatch" not in plain.subject + plain.text + plain.html
    inbox, _ = domain.plan(family, now=NOW, portal_url="https://p", daily_digest=set(), webhooks=[])
    texts = [mail.subject, mail.summary, inbox[0].title, inbox[0].body]
    about_the_match = kind not in ("coordinator_changed", "handover_requested", "takeover_requested",
                                   "takeover_declined", "handover_declined")  # fmt: skip
    if about_the_match:
        assert all("gezinsmatch" in t.lower() for t in texts), texts
    assert "Bekijk de gezinsmatch in SluiS" in mail.text and "U leest de gezinsmatch in SluiS" in mail.text
    assert " match " not in f" {mail.subject} {inbox[0].title} {domain.intro(family, contact(1))} "
    assert mail.text.count("Match de Vries") == plain.text.count("Match de Vries")
    assert "gezinsmatch de Vries" not in mail.text
    if "matchregisseur" in plain.text:
        assert "matchregisseur" in mail.text and "gezinsmatchregisseur" not in mail.text
    if kind == "match_created":
        assert mail.subject == "SluiS: nieuwe gezinsmatch" and inbox[0].title == "Nieuwe gezinsmatch"
        assert "bij leden van hetzelfde gezin" in inbox[0].body


def test_html_is_escaped() -> None:
    evil = contact(2, name="<script>alert(1)</script>")
    n = notice(members=(domain.Member(contact(1)), domain.Member(evil)))
    mail = domain.render_mail(n, contact(1), "https://p")
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html


def test_closed_match_lists_nobody() -> None:
    mail = domain.render_mail(notice(kind="match_closed"), contact(1), "https://p")
    assert "Betrokken professionals" not in mail.text and "010-2" not in mail.text


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (contact(1), "U bent nu de matchregisseur"),
        (contact(2), "Prof 2 (Org 2) is nu de matchregisseur"),
    ],
)
def test_coordinator_changed_intro(subject: domain.Contact, expected: str) -> None:
    assert domain.intro(notice(kind="coordinator_changed", subject=subject), contact(1)).startswith(expected)


def test_plan_inbox_mail_and_webhooks() -> None:
    hooks = [
        domain.WebhookTarget("w1", "o1", "https://cases.o1.example/hook", ()),
        domain.WebhookTarget("w2", "o2", "https://cases.o2.example/hook", ("match_closed",)),
        domain.WebhookTarget("w3", "o9", "https://cases.o9.example/hook", ()),
    ]
    inbox, deliveries = domain.plan(
        notice(), now=NOW, portal_url="https://p", daily_digest={"p2"}, webhooks=hooks
    )
    assert [i.professional_id for i in inbox] == ["p1", "p2"]
    by = {(d.channel, d.recipient): d for d in deliveries}
    assert set(by) == {("email", "p1"), ("email", "p2"), ("webhook", "w1")}
    assert by["email", "p1"].state == domain.QUEUED and by["email", "p2"].state == domain.HELD
    assert by["email", "p1"].target == "zorg.example"
    hook = by["webhook", "w1"]
    assert hook.target == "cases.o1.example"
    body = json.loads(hook.body_text)
    assert body["kind"] == "match_created" and body["match_id"] == "m1" and body["event_id"] == "e1"
    assert {m["professional_id"] for m in body["members"]} == {"p1", "p2"}
    assert set(body) == {"event_id", "kind", "occurred_at", "match_id", "members"}


def test_signature_round_trip_and_replay_window() -> None:
    secret, body = b"s" * 32, b'{"a":1}'
    header = domain.sign(secret, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert domain.verify(secret, header, body, now=1_700_000_100)
    assert not domain.verify(secret, header, body, now=1_700_000_000 + 301)  # too old: replay
    assert not domain.verify(secret, header, body + b" ", now=1_700_000_000)
    assert not domain.verify(b"x" * 32, header, body, now=1_700_000_000)
    assert not domain.verify(secret, "garbage", body, now=1_700_000_000)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cases.example/hook", True),
        ("http://127.0.0.1:8080/x", True),
        ("ftp://cases.example/", False),
        ("https://", False),
        ("cases.example/hook", False),
        ("https://a.example/\r\n", False),
    ],
)
def test_webhook_url(url: str, ok: bool) -> None:
    if ok:
        assert domain.check_webhook_url(url)
    else:
        with pytest.raises(InvalidArgument):
            domain.check_webhook_url(url)


@pytest.mark.parametrize(
    ("outcome", "before", "expected"),
    [
        (domain.SENT_OUTCOME, 0, (domain.SENT, 1)),
        (domain.Outcome(ok=False, error="x"), 0, (domain.RETRYING, 1)),
        (domain.Outcome(ok=False, error="x"), 7, (domain.DEAD, 8)),
        (domain.Outcome(ok=False, error="x", permanent=True), 0, (domain.DEAD, 1)),
        (domain.Outcome(ok=False, defer_seconds=1.0), 0, (domain.QUEUED, 0)),
        (domain.Outcome(ok=False, defer_seconds=1.0), 3, (domain.RETRYING, 3)),
    ],
)
def test_after_attempt(outcome: domain.Outcome, before: int, expected: tuple[str, int]) -> None:
    assert domain.after_attempt(outcome, before, 8) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 07:00 Amsterdam is 06:00 UTC in winter
        (datetime(2026, 11, 23, 6, 0, tzinfo=UTC), datetime(2026, 11, 23, 6, 0, tzinfo=UTC)),
        (datetime(2026, 11, 23, 5, 59, tzinfo=UTC), datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        (datetime(2026, 11, 23, 22, 0, tzinfo=UTC), datetime(2026, 11, 23, 6, 0, tzinfo=UTC)),
        # summer time: 05:00 UTC
        (datetime(2026, 7, 1, 5, 30, tzinfo=UTC), datetime(2026, 7, 1, 5, 0, tzinfo=UTC)),
    ],
)
def test_last_digest_moment(now: datetime, expected: datetime) -> None:
    assert domain.last_digest_moment(now, 7) == expected


def test_secret_wrapping() -> None:
    key = b"k" * 32
    wrapped = domain.wrap_secret(key, b"geheim-geheim-geheim")
    assert b"geheim" not in wrapped
    assert domain.unwrap_secret(key, wrapped) == b"geheim-geheim-geheim"


def test_digest_rendering() -> None:
    mail = domain.render_digest(
        "Prof 1", ["Nieuwe match: https://p/matches/1", "Match gesloten: https://p/matches/2"], "https://p"
    )
    assert mail.subject == "SluiS: dagelijkse samenvatting"
    assert "2 meldingen" in mail.text and "https://p/matches/2" in mail.text and "<li>" in mail.html


def test_message_id_is_stable() -> None:
    assert domain.message_id("abc") == domain.message_id("abc") == "<abc@sluis.example>"


def test_signal_notice_webhook_body_has_the_professional_only() -> None:
    n = domain.Notice("e9", "signal_lapsing", NOW, (contact(1),), signal_id="s9")
    body = json.loads(domain.webhook_body(n))
    assert set(body) == {"event_id", "kind", "occurred_at", "signal_id", "professional"}
    assert body["professional"]["email"] == "p1@zorg.example"


@pytest.mark.parametrize(
    ("kind", "reason", "expected"),
    [
        ("LAPSING_SOON", "UNSPECIFIED", "signal_lapsing"),
        ("LAPSING_SOON", "AGED_OUT", "signal_aging_out"),
        ("ENDED", "EXPIRED", "signal_archived"),
        ("ENDED", "AGED_OUT", "signal_aged_out"),
        ("ENDED", "DECEASED", "signal_deceased"),
    ],
)
def test_a_youth_signal_ageing_out_has_its_own_notice(kind: str, reason: str, expected: str) -> None:
    """Issue 12: the reminder 30 days before 23 and the end at 23 say why (not 'lapsing')."""
    event = signal_pb2.SignalEvent(
        event_id="e1",
        kind=signal_pb2.SignalEventKind.Value(f"SIGNAL_EVENT_KIND_{kind}"),
        signal_id="s1",
        professional=pb_contact(1),
        end_reason=signal_pb2.EndReason.Value(f"END_REASON_{reason}"),
    )
    notice = signal_notice(event, datetime(2026, 1, 15, tzinfo=UTC))
    assert notice is not None and notice.kind == expected
    assert ("23" in domain.intro(notice, notice.recipients[0])) is expected.endswith("_out")
    assert ("overleden" in domain.intro(notice, notice.recipients[0])) is (expected == "signal_deceased")
