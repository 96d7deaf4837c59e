"""Issue 22: the reminder that informing is still postponed reaches the professional."""

from sluis.notify.v1 import notify_pb2 as pb
from sluis.signal.v1 import signal_pb2

from services.notify.tests.helpers import contact, signal_event, wait_for


def test_informing_postponed_reminder(notify, mailbox) -> None:
    me = contact(8)
    event = signal_event(me, signal_pb2.SIGNAL_EVENT_KIND_INFORMING_POSTPONED)
    resp = notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[event]), timeout=5)
    assert resp.accepted == 1
    wait_for(lambda: len(mailbox.mails()) == 1)
    (mail,) = mailbox.to("prof8@zorg.example")
    assert mail.subject == "SluiS: informeren bij uw signaal is nog uitgesteld"
    assert "nog uitgesteld" in mail.text() and "Leg het informeren vast in SluiS" in mail.text()
    assert f"https://portal.sluis.example/signals/{event.signal_id}" in mail.text()
    inbox = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-8"), timeout=5)
    assert [i.kind for i in inbox.items] == ["informing_postponed"]
