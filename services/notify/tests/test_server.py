"""The core flow over real gRPC, real PostgreSQL and a real SMTP server (aiosmtpd)."""

import re

import grpc
import pytest
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb
from sluis.signal.v1 import signal_pb2

from services.notify.tests.helpers import contact, match_event, signal_event, wait_for


def test_match_created_mails_every_recipient_with_the_others_contact_details(notify, mailbox) -> None:
    members = [contact(1), contact(2), contact(3)]
    event = match_event(members, coordinator=1)
    resp = notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)
    assert (resp.accepted, resp.duplicates) == (1, 0)

    wait_for(lambda: len(mailbox.mails()) == 3)
    mail = mailbox.to("prof1@zorg.example")[0]
    assert mail.subject == "SluiS: nieuwe match"
    assert re.fullmatch(r"<[0-9a-f-]{36}@sluis\.example>", str(mail.message["Message-ID"]))
    text, html = mail.text(), mail.html()
    for other in (2, 3):
        for value in (
            f"Professional {other}",
            f"010-555{other:04d}",
            f"prof{other}@zorg.example",
            f"Organisatie {other}",
        ):
            assert value in text and value in html
    assert "schuldhulpverlener" in text
    assert "Matchregisseur:" in text and "Professional 2" in text.split("Matchregisseur:")[1]
    assert f"https://portal.sluis.example/matches/{event.match_id}" in text
    assert f"https://portal.sluis.example/matches/{event.match_id}" in html
    assert "Beste Professional 1," in text
    # the recipient is not listed among the others; nothing about the person
    assert "prof1@zorg.example" not in text.split("Betrokken professionals:")[1]
    assert "pseudonym" not in text and "pseudonym" not in html
    # the coordinator reads that it is them
    assert "Matchregisseur: u zelf." in mailbox.to("prof2@zorg.example")[0].text()


def test_replayed_event_is_a_duplicate_and_sends_nothing(notify, mailbox) -> None:
    event = match_event([contact(1), contact(2)])
    first = notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event, event]), timeout=5)
    assert (first.accepted, first.duplicates) == (1, 1)
    again = notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)
    assert (again.accepted, again.duplicates) == (0, 1)

    wait_for(lambda: notify.stats().get(("email", "sent")) == 2)
    notify.svc.call(notify.svc.service.notify_workers[0].drain())
    assert mailbox.received == 2
    assert notify.stats() == {("email", "sent"): 2}
    inbox = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1"), timeout=5)
    assert len(inbox.items) == 1


def test_every_match_kind_has_its_dutch_subject(notify, mailbox) -> None:
    a, b = contact(1), contact(2)
    kinds = {
        match_pb2.MATCH_EVENT_KIND_MEMBER_JOINED: "SluiS: nieuwe betrokkene bij uw match",
        match_pb2.MATCH_EVENT_KIND_MEMBER_LEFT: "SluiS: betrokkene niet meer in uw match",
        match_pb2.MATCH_EVENT_KIND_CLOSED: "SluiS: match gesloten",
        match_pb2.MATCH_EVENT_KIND_COORDINATOR_CHANGED: "SluiS: nieuwe matchregisseur",
        match_pb2.MATCH_EVENT_KIND_HANDOVER_REQUESTED: "SluiS: verzoek om matchregisseur te worden",
    }
    events = [match_event([a, b], kind=k, recipients=[a], subject=b) for k in kinds]
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=events), timeout=5)
    wait_for(lambda: len(mailbox.mails()) == len(kinds))
    assert sorted(m.subject for m in mailbox.mails()) == sorted(kinds.values())
    joined = next(m for m in mailbox.mails() if "nieuwe betrokkene" in m.subject)
    assert "Professional 2 (Organisatie 2) is nu ook betrokken" in joined.text()


def test_inbox_lists_newest_first_and_only_the_owner_marks_read(notify) -> None:
    a, b = contact(1), contact(2)
    events = [match_event([a, b]) for _ in range(5)]
    for event in events:
        notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=[event]), timeout=5)

    page1 = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1", page_size=3), timeout=5)
    assert len(page1.items) == 3 and page1.next_page_token and page1.unread_count == 5
    page2 = notify.stub.ListInbox(
        pb.ListInboxRequest(professional_id="prof-1", page_size=3, page_token=page1.next_page_token),
        timeout=5,
    )
    assert len(page2.items) == 2 and not page2.next_page_token
    items = [*page1.items, *page2.items]
    assert {i.match_id for i in items} == {e.match_id for e in events}
    assert [i.created_at.ToDatetime() for i in items] == sorted(
        (i.created_at.ToDatetime() for i in items), reverse=True
    )
    item = items[0]
    assert item.kind == "match_created" and item.title == "Nieuwe match" and item.body

    with pytest.raises(grpc.RpcError) as exc:
        notify.stub.MarkInboxItemRead(
            pb.MarkInboxItemReadRequest(professional_id="prof-2", item_id=item.item_id), timeout=5
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as missing:
        notify.stub.MarkInboxItemRead(
            pb.MarkInboxItemReadRequest(professional_id="prof-1", item_id="nope"), timeout=5
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing.value.details() == exc.value.details()

    read = notify.stub.MarkInboxItemRead(
        pb.MarkInboxItemReadRequest(professional_id="prof-1", item_id=item.item_id), timeout=5
    )
    assert read.item.read_at.seconds > 0
    unread = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1", unread_only=True), timeout=5)
    assert unread.unread_count == 4 and item.item_id not in {i.item_id for i in unread.items}
    other = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-2"), timeout=5)
    assert other.unread_count == 5


def test_signal_lapsing_and_archived_notices(notify, mailbox) -> None:
    me = contact(7)
    lapsing = signal_event(me)
    archived = signal_event(me, signal_pb2.SIGNAL_EVENT_KIND_ENDED, signal_pb2.END_REASON_EXPIRED)
    ended_by_hand = signal_event(me, signal_pb2.SIGNAL_EVENT_KIND_ENDED, signal_pb2.END_REASON_GOAL_REACHED)
    resp = notify.stub.ApplySignalEvents(
        pb.ApplySignalEventsRequest(events=[lapsing, archived, ended_by_hand]), timeout=5
    )
    assert (resp.accepted, resp.duplicates) == (3, 0)

    wait_for(lambda: len(mailbox.mails()) == 2)
    by_subject = {m.subject: m for m in mailbox.to("prof7@zorg.example")}
    lapse = by_subject["SluiS: uw signaal verloopt over 30 dagen"]
    assert "Uw signaal verloopt over 30 dagen" in lapse.text()
    assert f"https://portal.sluis.example/signals/{lapsing.signal_id}" in lapse.text()
    assert "verleng" in lapse.text().lower()
    assert (
        "Uw signaal is na twee jaar verlopen en gearchiveerd"
        in by_subject["SluiS: uw signaal is gearchiveerd"].text()
    )
    for mail in by_subject.values():
        assert "pseudonym" not in mail.text() and "AAAA" not in mail.text()
    inbox = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-7"), timeout=5)
    assert {i.kind for i in inbox.items} == {"signal_lapsing", "signal_archived"}
    assert {i.signal_id for i in inbox.items} == {lapsing.signal_id, archived.signal_id}
