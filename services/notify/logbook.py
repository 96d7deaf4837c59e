"""Processing-log lines of the notify service (docs/adr/0004-processing-log.md): a mail sent,
a webhook delivered, an inbox item created and an inbox item read each disclose who is
involved in a match, so each writes one line per person the notice is about, in the same
transaction as the state change. Notify never sees a pseudonym: match seals the person for
the log and hands the sealed subject over with each event (MatchEvent.log_subjects)."""

from collections.abc import Iterable, Mapping, Sequence

from services.common.processing_log import Line, Sealed
from services.notify import domain

RESOURCE = "sluis-notify"
NOTICE = "match-melding"

# name and channel per delivery channel
_SENT = {
    domain.EMAIL: ("notify.mail_sent", "e-mail"),
    domain.WEBHOOK: ("notify.webhook_delivered", "webhook"),
}


def _line(
    name: str,
    subject: Sealed,
    *,
    match_id: str,
    organisation_id: str,
    channel: str,
    kind: str,
    actor_id: str,
) -> Line:
    return Line(
        name,
        NOTICE,
        "",
        sealed=subject,
        attributes={
            "sluis.match_id": match_id,
            "sluis.organisation_id": organisation_id,
            "sluis.channel": channel,
            "sluis.notice": kind,
        },
        actor_id=actor_id,
        actor_organisation_id=organisation_id,
    )


def inbox_created(rows: Iterable[domain.InboxRow], about: Mapping[str, Sequence[Sealed]]) -> list[Line]:
    """An inbox item per recipient: one line per person its notice (event) is about."""
    return [
        _line(
            "notify.inbox_item",
            subject,
            match_id=row.match_id,
            organisation_id=row.organisation_id,
            channel="inbox",
            kind=row.kind,
            actor_id=row.professional_id,
        )
        for row in rows
        for subject in about.get(row.event_id, ())
    ]


def inbox_read(
    subjects: Iterable[Sealed], *, match_id: str, organisation_id: str, kind: str, professional_id: str
) -> list[Line]:
    """The professional opened an inbox item (every opening is a read)."""
    return [
        _line(
            "notify.inbox_item_read",
            subject,
            match_id=match_id,
            organisation_id=organisation_id,
            channel="inbox",
            kind=kind,
            actor_id=professional_id,
        )
        for subject in subjects
    ]


def sent(
    channel: str, kind: str, recipient: str, organisation_id: str, match_id: str, subject: Sealed
) -> Line:
    """A mail handed to the mail server, or a webhook call the receiver accepted (a digest
    is logged once for every mail it folded in)."""
    name, label = _SENT[channel]
    return _line(
        name,
        subject,
        match_id=match_id,
        organisation_id=organisation_id,
        channel=label,
        kind=kind,
        actor_id=recipient,
    )
