"""Issue 18: a person with active signals moved out of the region (the BRP re-check)."""

from sluis.notify.v1 import notify_pb2 as pb
from sluis.signal.v1 import signal_pb2

from services.notify.tests.helpers import contact, signal_event, wait_for


def test_moved_out_tells_the_professional_and_the_region_admin(start_notify, smtp_server, mailbox) -> None:
    notify = start_notify(smtp_server.port, region_admin_email="regio@gemeente.example")
    me = contact(7)
    moved = signal_event(me, signal_pb2.SIGNAL_EVENT_KIND_MOVED_OUT)
    resp = notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[moved]), timeout=5)
    assert (resp.accepted, resp.duplicates) == (1, 0)

    wait_for(lambda: len(mailbox.mails()) == 2)
    (mine,) = mailbox.to("prof7@zorg.example")
    assert mine.subject == "SluiS: persoon verhuisd buiten de regio"
    assert "verhuisd naar een gemeente buiten de regio" in mine.text()
    assert f"https://portal.sluis.example/signals/{moved.signal_id}" in mine.text()
    (admin,) = mailbox.to("regio@gemeente.example")
    assert "Een persoon op wie" in admin.text() and "verhuisd" in admin.text()
    for mail in (mine, admin):
        assert "pseudonym" not in mail.text() and "AAAA" not in mail.text()
    inbox = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-7"), timeout=5)
    assert [i.kind for i in inbox.items] == ["signal_moved_out"]


def test_moved_out_without_region_contact_tells_only_the_professional(notify, mailbox) -> None:
    moved = signal_event(contact(8), signal_pb2.SIGNAL_EVENT_KIND_MOVED_OUT)
    notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[moved]), timeout=5)
    wait_for(lambda: len(mailbox.mails()) == 1)
    assert [m.subject for m in mailbox.to("prof8@zorg.example")] == [
        "SluiS: persoon verhuisd buiten de regio"
    ]
