"""Account mails of the gateway: invitations, resets, e-mail confirmations, change notices.

They are queued like every other mail (retries, dead letters, the per-domain rate limit),
but they are not about a match or a signal: no inbox item, no webhook, no daily digest. The
body holds a one-time link, so the retention rule ACCOUNT_MAIL_RETENTION removes the row
soon after it was sent (services/notify/retention.py).
"""

import html
import uuid
from datetime import datetime

from services.common.errors import InvalidArgument
from services.notify import domain

INVITATION = "account_invitation"
RESET = "account_reset"
CONFIRM_EMAIL = "account_confirm_email"
CHANGED = "account_changed"
KINDS = (INVITATION, RESET, CONFIRM_EMAIL, CHANGED)

SUBJECTS = {
    INVITATION: "Uitnodiging voor SluiS",
    RESET: "SluiS: stel uw inloggegevens opnieuw in",
    CONFIRM_EMAIL: "SluiS: bevestig uw nieuwe e-mailadres",
    CHANGED: "SluiS: uw inloggegevens zijn gewijzigd",
}

_FOOTER = "Dit is een automatisch bericht van SluiS; u kunt er niet op antwoorden."


def _intro(kind: str, organisation: str, valid_until: str) -> list[str]:
    where = f" voor {organisation}" if organisation else ""
    until = f" De link werkt één keer, tot {valid_until}." if valid_until else " De link werkt één keer."
    if kind == INVITATION:
        return [
            f"U bent uitgenodigd om SluiS te gebruiken{where}.",
            "Kies via de link hieronder een wachtwoord en stel de tweede factor (authenticator-app) in."
            + until,
        ]
    if kind == RESET:
        return [
            f"Uw beheerder heeft uw inloggegevens voor SluiS{where} opnieuw ingesteld.",
            "Kies via de link hieronder een nieuw wachtwoord en stel de tweede factor opnieuw in." + until,
        ]
    if kind == CONFIRM_EMAIL:
        return [
            "U heeft gevraagd dit e-mailadres te gebruiken voor SluiS.",
            "Bevestig het via de link hieronder." + until,
        ]
    return [
        "Uw wachtwoord, telefoonnummer of e-mailadres in SluiS is zojuist gewijzigd.",
        "Was u dit niet? Neem dan direct contact op met uw beheerder.",
    ]


def check(kind: str, email: str, link: str) -> None:
    if kind not in KINDS:
        raise InvalidArgument("invalid_kind", "Onbekende soort accountmail.", field="kind")
    if not domain.valid_email(email):
        raise InvalidArgument("invalid_email", "Geen geldig e-mailadres.", field="recipient_email")
    if kind != CHANGED and not link.startswith(("https://", "http://")):
        raise InvalidArgument("invalid_link", "Een accountmail heeft een link nodig.", field="link")


def render(kind: str, name: str, link: str, organisation: str, valid_until: str) -> domain.Mail:
    e = html.escape
    greeting = f"Beste {name}," if name else "Beste collega,"
    lines = _intro(kind, organisation, valid_until)
    text = [greeting, "", *lines, ""]
    body = [f"<p>{e(greeting)}</p>", *(f"<p>{e(line)}</p>" for line in lines)]
    if link:
        text += [link, ""]
        body.append(f'<p><a href="{e(link)}">{e(link)}</a></p>')
    text += [_FOOTER, ""]
    body.append(f'<p style="color:#666">{e(_FOOTER)}</p>')
    page = (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{e(SUBJECTS[kind])}</title></head><body>" + "".join(body) + "</body></html>"
    )
    return domain.Mail(SUBJECTS[kind], "\n".join(text), page, "")


def delivery(
    mail_id: str, kind: str, email: str, name: str, mail: domain.Mail, now: datetime
) -> domain.DeliveryRow:
    """One queued e-mail; the event id `account:<mail_id>` makes a repeated call queue nothing."""
    return domain.DeliveryRow(
        str(uuid.uuid4()),
        event_id(mail_id),
        mail_id,
        domain.EMAIL,
        kind,
        email,
        domain.email_domain(email),
        name,
        mail.subject,
        mail.text,
        mail.html,
        "",
        domain.QUEUED,
        now,
        now,
    )


def event_id(mail_id: str) -> str:
    return f"account:{mail_id}"
