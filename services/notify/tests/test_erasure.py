"""Issue 12: an ERASED MatchEvent removes every inbox item and delivery notify holds about the match."""

import psycopg
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2 as pb
from sluis.signal.v1 import signal_pb2

from services.notify.tests.helpers import contact, match_event, signal_event, wait_for


def _dump(url: str) -> str:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT relname FROM pg_stat_user_tables")]
        return "\n".join(str(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)  # noqa: S608


def test_erased_match_leaves_no_member_details(notify, mailbox) -> None:
    members = [contact(1), contact(2), contact(3)]
    created = match_event(members, coordinator=1)
    other = match_event([contact(4), contact(5)])  # another match: untouched
    lapsing = signal_event(contact(3))
    apply = notify.stub.ApplyMatchEvents
    apply(pb.ApplyMatchEventsRequest(events=[created, other]), timeout=5)
    notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[lapsing]), timeout=5)
    wait_for(lambda: len(mailbox.mails()) == 6)
    url = notify.settings.database_url
    assert "Professional 3" in _dump(url)

    left = match_event(
        members[:2],
        kind=match_pb2.MATCH_EVENT_KIND_MEMBER_LEFT,
        match_id=created.match_id,
        recipients=members,
        subject=members[2],
    )
    erased = match_pb2.MatchEvent(
        event_id="erase-1",
        kind=match_pb2.MATCH_EVENT_KIND_ERASED,
        match_id=created.match_id,
        recipients=members[:2],
        erased_signal_ids=[lapsing.signal_id],
    )
    resp = apply(pb.ApplyMatchEventsRequest(events=[left, erased]), timeout=5)
    assert (resp.accepted, resp.duplicates) == (2, 0)
    dump = _dump(url)
    for value in ("Professional 3", "prof3@zorg.example", "010-5550003", lapsing.signal_id):
        assert value not in dump
    assert "Professional 4" in dump  # the other match keeps its notices
    for professional in ("prof-1", "prof-2"):
        items = notify.stub.ListInbox(pb.ListInboxRequest(professional_id=professional), timeout=5).items
        assert [(i.kind, i.match_id) for i in items] == [("match_erased", created.match_id)]
    # Idempotent: a redelivery changes nothing.
    again = apply(pb.ApplyMatchEventsRequest(events=[erased]), timeout=5)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert len(notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-1"), timeout=5).items) == 1


def test_told_why_after_an_upheld_objection(notify, mailbox) -> None:
    removed = signal_event(
        contact(7),
        kind=signal_pb2.SIGNAL_EVENT_KIND_DELETED,
        end_reason=signal_pb2.END_REASON_OBJECTION_UPHELD,
    )
    removed.signal_id = ""
    removed.pseudonym = ""
    notify.stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=[removed]), timeout=5)
    mail = wait_for(lambda: mailbox.to("prof7@zorg.example"))[0]
    assert "gegrond bezwaar" in mail.subject and "bezwaar" in mail.text()
    items = notify.stub.ListInbox(pb.ListInboxRequest(professional_id="prof-7"), timeout=5).items
    assert [(i.kind, i.signal_id) for i in items] == [("signal_removed", "")]
