"""What notify tells whom, and how: pure functions, no I/O.

Match decides who is told; notify turns each event into, per recipient, an inbox item and an
e-mail, and per subscribed organisation a signed webhook call. Everything a recipient reads
is Dutch and holds contact details of professionals and a link to the portal only: never a
BSN, a pseudonym or anything about the person (SluiS stores no case content anyway).

Over 500 lines on purpose: most of it is the Dutch wording of every kind of notice (mail,
inbox, webhook body) next to the rule that picks it, which reads best in one place.
"""

import dataclasses
import hashlib
import hmac
import html
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from services.common.contacts import Contact
from services.common.errors import InvalidArgument, ResourceExhausted

MAX_EVENTS_PER_CALL = 1_000
MAX_MEMBERS = 200
MAX_FIELD_CHARS = 320
MAX_WEBHOOKS_PER_ORGANISATION = 10
SIGNATURE_HEADER = "SluiS-Signature"
# Receivers should reject signatures older than this (replays).
SIGNATURE_TOLERANCE_SECONDS = 300
REGION_TZ = ZoneInfo("Europe/Amsterdam")

EMAIL = "email"
WEBHOOK = "webhook"

# Delivery states. queued/retrying are due work; held waits for the daily digest; digested was
# folded into a digest delivery; sent and dead are final (dead until an operator retries it).
QUEUED, RETRYING, SENT, DEAD, HELD, DIGESTED = "queued", "retrying", "sent", "dead", "held", "digested"

DIGEST_IMMEDIATE = "immediate"
DIGEST_DAILY = "daily"


@dataclasses.dataclass(frozen=True)
class Member:
    contact: Contact
    is_coordinator: bool = False


@dataclasses.dataclass(frozen=True)
class Notice:
    """One event to tell people about (a match event or a signal reminder), already validated."""

    event_id: str
    kind: str
    occurred_at: datetime
    recipients: tuple[Contact, ...]
    match_id: str = ""
    signal_id: str = ""
    members: tuple[Member, ...] = ()
    subject: Contact | None = None
    # What else happened in the same change (one notice per recipient, see match's domain).
    joined: tuple[Contact, ...] = ()
    left: tuple[Contact, ...] = ()
    new_coordinator: Contact | None = None
    offered: bool = False
    suggested: Contact | None = None
    # The person(s) the notice is about, sealed for the processing log by match:
    # (encrypted subject id, lookup tag) each; empty for notices about no person.
    log_subjects: tuple[tuple[bytes, bytes], ...] = ()
    # A family match (issue 18): the texts say "gezinsmatch" and "hetzelfde gezin".
    family: bool = False


# --- kinds -----------------------------------------------------------------------------------

# The region admin as a recipient (SLUIS_NOTIFY_REGION_ADMIN_EMAIL): mail only, no inbox of its own.
REGION_ADMIN_ID = "region-admin"

MATCH_KINDS = (
    "match_created",
    "member_joined",
    "member_left",
    "match_closed",
    "coordinator_changed",
    "handover_requested",
    "takeover_requested",
    "takeover_declined",
    "handover_declined",
)
SIGNAL_KINDS = (
    "signal_lapsing",
    "signal_archived",
    "signal_aging_out",
    "signal_aged_out",
    "signal_deceased",
    "signal_moved_out",
    "informing_postponed",
)

SUBJECTS = {
    "match_created": "SluiS: nieuwe match",
    "member_joined": "SluiS: nieuwe betrokkene bij uw match",
    "member_left": "SluiS: betrokkene niet meer in uw match",
    "match_closed": "SluiS: match gesloten",
    "coordinator_changed": "SluiS: nieuwe matchregisseur",
    "handover_requested": "SluiS: verzoek om matchregisseur te worden",
    "takeover_requested": "SluiS: verzoek om uw rol van matchregisseur over te nemen",
    "takeover_declined": "SluiS: uw verzoek om matchregisseur te worden is afgewezen",
    "handover_declined": "SluiS: overdracht van de rol van matchregisseur afgewezen",
    "signal_lapsing": "SluiS: uw signaal verloopt over 30 dagen",
    "signal_archived": "SluiS: uw signaal is gearchiveerd",
    "signal_aging_out": "SluiS: uw signaal eindigt over 30 dagen (23 jaar)",
    "signal_aged_out": "SluiS: uw signaal is beëindigd (23 jaar)",
    "signal_deceased": "SluiS: uw signaal is beëindigd (overlijden)",
    "signal_removed": "SluiS: een signaal van u is verwijderd na een gegrond bezwaar",
    "signal_moved_out": "SluiS: persoon verhuisd buiten de regio",
    "informing_postponed": "SluiS: informeren bij uw signaal is nog uitgesteld",
}

TITLES = {
    "match_created": "Nieuwe match",
    "member_joined": "Nieuwe betrokkene bij uw match",
    "member_left": "Betrokkene niet meer in uw match",
    "match_closed": "Match gesloten",
    "coordinator_changed": "Nieuwe matchregisseur",
    "handover_requested": "Verzoek om matchregisseur te worden",
    "takeover_requested": "Verzoek om uw rol over te nemen",
    "takeover_declined": "Verzoek om matchregisseur te worden afgewezen",
    "handover_declined": "Overdracht van de rol afgewezen",
    "signal_lapsing": "Uw signaal verloopt over 30 dagen",
    "signal_archived": "Uw signaal is gearchiveerd",
    "signal_aging_out": "Uw signaal eindigt over 30 dagen (23 jaar)",
    "signal_aged_out": "Uw signaal is beëindigd (23 jaar)",
    "signal_deceased": "Uw signaal is beëindigd (overlijden)",
    "signal_removed": "Signaal verwijderd na gegrond bezwaar",
    "signal_moved_out": "Persoon verhuisd buiten de regio",
    "informing_postponed": "Informeren nog uitgesteld",
}


def _who(contact: Contact | None) -> str:
    if contact is None or not contact.name:
        return "Een professional"
    org = f" ({contact.organisation_name})" if contact.organisation_name else ""
    return f"{contact.name}{org}"


def _one(contact: Contact | None) -> list[Contact | None]:
    return [contact]


def _names(contacts: Sequence[Contact | None]) -> str:
    names = [_who(c) for c in contacts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def _is(contact: Contact | None, recipient: Contact) -> bool:
    return contact is not None and contact.professional_id == recipient.professional_id


def still_member(notice: Notice, recipient: Contact) -> bool:
    """Whether the recipient is a member after the change: only members see contact details."""
    return any(_is(m.contact, recipient) for m in notice.members)


def is_newcomer(notice: Notice, recipient: Contact) -> bool:
    """Whether this notice announces the recipient's own entry into the match."""
    if notice.kind == "match_created":
        return True
    if notice.kind != "member_joined":
        return False
    return _is(notice.subject, recipient) or any(_is(c, recipient) for c in notice.joined)


def _leaver(notice: Notice, recipient: Contact) -> bool:
    return notice.kind == "member_left" and not still_member(notice, recipient)


OFFER = (
    "U wordt gevraagd de rol van matchregisseur op u te nemen. Accepteer of weiger in SluiS;"
    " zonder antwoord binnen de termijn blijft de rol bij u."
)


def _also(notice: Notice, recipient: Contact) -> list[str]:
    """The other things that happened in the same change, for a member who stayed."""
    out: list[str] = []
    if notice.kind == "member_joined" and notice.left and not is_newcomer(notice, recipient):
        out.append(f"{_names(notice.left)} {'is' if len(notice.left) == 1 else 'zijn'} niet meer betrokken.")
    if notice.new_coordinator is not None and not is_newcomer(notice, recipient):
        if _is(notice.new_coordinator, recipient):
            out.append(OFFER if notice.offered else "U bent nu de matchregisseur.")
        else:
            out.append(f"{_who(notice.new_coordinator)} is nu de matchregisseur.")
    if notice.suggested is not None:
        if _is(notice.suggested, recipient):
            out.append(
                "Volgens de regionale regel gaat uw organisatie voor bij de rol van matchregisseur."
                " De huidige matchregisseur is voorgesteld de rol aan u over te dragen."
            )
        elif any(m.is_coordinator and _is(m.contact, recipient) for m in notice.members):
            out.append(
                f"Volgens de regionale regel gaat {_who(notice.suggested)} voor bij de rol van"
                " matchregisseur. Overweeg de rol over te dragen in SluiS."
            )
    return out


# A family match's wording (issue 18): the template's phrases about "a match" of "one person"
# become "a gezinsmatch" of "one family". Phrase by phrase (never a bare word), so that
# matchregisseur stays, and so do names that happen to contain the word.
_FAMILY_PHRASES = re.compile(
    r"(SluiS:|\been nieuwe|\been|\bEen|\bdeze|\buw|\bde|\bnieuwe|\bNieuwe) match\b|^Match gesloten|bij dezelfde persoon"
)


def _family_phrase(m: re.Match[str]) -> str:
    if m.group(1):
        return f"{m.group(1)} gezinsmatch"
    return "Gezinsmatch gesloten" if m.group(0) == "Match gesloten" else "bij leden van hetzelfde gezin"


def worded(notice: Notice, text: str) -> str:
    """`text` in the words of the notice's kind of match."""
    return _FAMILY_PHRASES.sub(_family_phrase, text) if notice.family else text


def title(notice: Notice) -> str:
    return worded(notice, TITLES[notice.kind])


def subject_line(notice: Notice) -> str:
    return worded(notice, SUBJECTS[notice.kind])


def intro(notice: Notice, recipient: Contact) -> str:
    """What happened, in Dutch, for this recipient (inbox body and first lines of the mail).

    Never names the recipient as the newcomer or the leaver, and says everything one change
    did in one text, so that one event makes one mail per recipient.
    """
    first = worded(notice, _first(notice, recipient))
    return " ".join([first, *_also(notice, recipient)]) if notice.kind in MATCH_KINDS else first


def _first(notice: Notice, recipient: Contact) -> str:
    subject_is_me = _is(notice.subject, recipient)
    match notice.kind:
        case "match_created":
            return (
                "Er is een nieuwe match: u en een of meer professionals van andere organisaties"
                " zijn betrokken bij dezelfde persoon."
            )
        case "member_joined" if is_newcomer(notice, recipient):
            return (
                "U bent nu betrokken bij een match: u en een of meer professionals van andere"
                " organisaties zijn betrokken bij dezelfde persoon."
            )
        case "member_joined":
            joined = [c for c in notice.joined if not _is(c, recipient)] or _one(notice.subject)
            verb = "is" if len(joined) == 1 else "zijn"
            return f"{_names(joined)} {verb} nu ook betrokken bij een match waarin u deelneemt."
        case "member_left" if not still_member(notice, recipient):
            return (
                "U bent niet meer betrokken bij een match waarin u deelnam. U ontvangt geen berichten"
                " meer over deze match."
            )
        case "member_left":
            left = list(notice.left) or _one(notice.subject)
            verb = "is" if len(left) == 1 else "zijn"
            return f"{_names(left)} {verb} niet meer betrokken bij een match waarin u deelneemt."
        case "match_closed":
            return (
                "Een match waarin u deelnam is gesloten: er zijn niet langer professionals van"
                " twee of meer organisaties betrokken."
            )
        case "coordinator_changed":
            if subject_is_me:
                return (
                    OFFER
                    if notice.offered
                    else "U bent nu de matchregisseur van een match waarin u deelneemt."
                )
            return f"{_who(notice.subject)} is nu de matchregisseur van een match waarin u deelneemt."
        case "handover_requested":
            return "U wordt gevraagd de rol van matchregisseur over te nemen in een match waarin u deelneemt."
        case "takeover_requested":
            return (
                f"{_who(notice.subject)} vraagt uw rol van matchregisseur over te nemen. Accepteer of"
                " weiger in SluiS; zonder antwoord binnen de termijn gaat de rol vanzelf over."
            )
        case "takeover_declined":
            return "De matchregisseur heeft uw verzoek om de rol over te nemen afgewezen."
        case "handover_declined":
            return f"{_who(notice.subject)} heeft uw voorstel om matchregisseur te worden afgewezen. U blijft matchregisseur."
        case "signal_lapsing":
            return "Uw signaal verloopt over 30 dagen. Verleng het in SluiS als u nog betrokken bent."
        case "signal_aging_out":
            return (
                "De persoon van uw signaal wordt over 30 dagen 23 jaar. Dan geldt de Jeugdwet niet meer"
                " en eindigt het signaal, tenzij u het verlengt en verklaart dat er sprake is van"
                " meervoudige problematiek."
            )
        case "signal_aged_out":
            return "De persoon van uw signaal is 23 geworden. Het signaal is beëindigd en gearchiveerd."
        case "signal_deceased":
            return "De persoon van uw signaal is overleden. Het signaal is beëindigd en gearchiveerd."
        case "signal_archived":
            return "Uw signaal is na twee jaar verlopen en gearchiveerd. Het is niet meer actief."
        case "signal_removed":
            # Which signal is not said: it is erased everywhere (docs/retention.md).
            return (
                "Een signaal van u is verwijderd omdat de gemeente een bezwaar van de betrokkene gegrond"
                " heeft verklaard. Uw organisatie kan deze persoon niet opnieuw signaleren tot de"
                " regiobeheerder dat toestaat. Vragen? Neem contact op met uw SluiS-wachter."
            )
        case "signal_moved_out" if recipient.professional_id == REGION_ADMIN_ID:
            return (
                f"Een persoon op wie {_who(notice.subject)} een actief signaal heeft, is volgens de BRP"
                " verhuisd naar een gemeente buiten de regio."
            )
        case "signal_moved_out":
            return (
                "De persoon op wie u een actief signaal heeft, is volgens de BRP verhuisd naar een"
                " gemeente buiten de regio. Uw signaal blijft actief; beëindig het als u niet meer"
                " betrokken bent."
            )
        case "informing_postponed":
            return (
                "Bij uw signaal is het informeren van de persoon of de wettelijk vertegenwoordiger"
                " nog uitgesteld. Informeer zodra het veilig en mogelijk is, en leg dat vast bij"
                " Mijn signalen in SluiS."
            )
    raise ValueError(f"unknown kind {notice.kind}")


def link(portal_url: str, notice: Notice) -> str:
    base = portal_url.rstrip("/")
    if notice.match_id:
        return f"{base}/matches/{notice.match_id}"
    return f"{base}/signals/{notice.signal_id}" if notice.signal_id else f"{base}/signals"


# --- validation ------------------------------------------------------------------------------

# As permissive as signal's check (an address signal accepted must not make notify refuse a
# whole batch from match), but never whitespace, brackets or separators that could rewrite a
# header or add a recipient.
_ADDR_CHARS = r"[^@\s<>,;\"()\[\]\\]"
_EMAIL = re.compile(rf"^{_ADDR_CHARS}+@{_ADDR_CHARS}+\.{_ADDR_CHARS}*[^@\s<>,;\"()\[\]\\.]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def valid_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.match(address) is not None


def email_domain(address: str) -> str:
    """The part after @, lower case: the rate-limit key and what operators see."""
    return address.rsplit("@", 1)[-1].lower()


def check_contact(contact: Contact, *, as_recipient: bool) -> None:
    """InvalidArgument when a contact is unusable; the detail never echoes the values."""
    for value in dataclasses.astuple(contact):
        if len(value) > MAX_FIELD_CHARS:
            raise InvalidArgument(
                "field_too_long", f"Een contactgegeven is langer dan {MAX_FIELD_CHARS} tekens."
            )
        # Control characters (CR/LF) in a name would let a sender forge mail headers.
        if _CONTROL.search(value):
            raise InvalidArgument("invalid_characters", "Een contactgegeven bevat ongeldige tekens.")
    # An unusable e-mail address is NOT a reason to refuse the event: that one mail is
    # dead-lettered on its own (see plan) and every other recipient is still told.
    if as_recipient and not contact.professional_id:
        raise InvalidArgument("unknown_recipient", "Een ontvanger heeft geen professional-id.")


def check_event_batch(count: int) -> None:
    if count > MAX_EVENTS_PER_CALL:
        raise ResourceExhausted(
            "batch_too_large",
            f"Maximaal {MAX_EVENTS_PER_CALL} gebeurtenissen per verzoek.",
            limit=str(MAX_EVENTS_PER_CALL),
        )


def check_notice(notice: Notice) -> None:
    """The whole event is checked before anything is written: a bad event queues nothing."""
    if not notice.event_id or len(notice.event_id) > 100 or _CONTROL.search(notice.event_id):
        raise InvalidArgument("malformed_event", "Een gebeurtenis heeft geen geldig event-id.")
    if notice.kind not in SUBJECTS:
        raise InvalidArgument("malformed_event", "Een gebeurtenis heeft geen bekend soort.")
    if notice.kind in MATCH_KINDS and not notice.match_id:
        raise InvalidArgument("malformed_event", "Een matchgebeurtenis heeft geen match-id.")
    if notice.kind in SIGNAL_KINDS and not notice.signal_id:
        raise InvalidArgument("malformed_event", "Een signaalgebeurtenis heeft geen signaal-id.")
    for ident in (notice.match_id, notice.signal_id):
        if len(ident) > 100 or _CONTROL.search(ident) or "/" in ident:
            raise InvalidArgument("malformed_event", "Een gebeurtenis heeft een ongeldig id.")
    if len(notice.members) > MAX_MEMBERS or len(notice.recipients) > MAX_MEMBERS:
        raise ResourceExhausted(
            "too_many_members", f"Maximaal {MAX_MEMBERS} betrokkenen per gebeurtenis.", limit=str(MAX_MEMBERS)
        )
    for member in notice.members:
        check_contact(member.contact, as_recipient=False)
    for extra in (notice.subject, notice.new_coordinator, notice.suggested, *notice.joined, *notice.left):
        if extra is not None:
            check_contact(extra, as_recipient=False)
    if len(notice.joined) > MAX_MEMBERS or len(notice.left) > MAX_MEMBERS:
        raise ResourceExhausted(
            "too_many_members", f"Maximaal {MAX_MEMBERS} betrokkenen per gebeurtenis.", limit=str(MAX_MEMBERS)
        )
    for recipient in notice.recipients:
        check_contact(recipient, as_recipient=True)


# --- e-mail ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str
    summary: str  # one line for the daily digest


def _others(notice: Notice, recipient: Contact) -> list[Member]:
    return [m for m in notice.members if m.contact.professional_id != recipient.professional_id]


def _coordinator(notice: Notice) -> Contact | None:
    for member in notice.members:
        if member.is_coordinator:
            return member.contact
    return None


def _contact_lines(contact: Contact) -> list[str]:
    head = ", ".join(p for p in (contact.name, contact.role, contact.organisation_name) if p)
    lines = [f"- {head or 'Onbekende professional'}"]
    if contact.phone:
        lines.append(f"  Telefoon: {contact.phone}")
    if contact.email:
        lines.append(f"  E-mail: {contact.email}")
    return lines


def _contact_html(contact: Contact) -> str:
    e = html.escape
    head = ", ".join(e(p) for p in (contact.name, contact.role, contact.organisation_name) if p)
    parts = [f"<strong>{head or 'Onbekende professional'}</strong>"]
    if contact.phone:
        parts.append(f"Telefoon: {e(contact.phone)}")
    if contact.email:
        parts.append(f'E-mail: <a href="mailto:{e(contact.email)}">{e(contact.email)}</a>')
    return "<li>" + "<br>".join(parts) + "</li>"


_FOOTER = (
    "Dit bericht bevat bewust geen gegevens over de persoon. U leest de match in SluiS"
    " na inloggen. Dit is een automatisch bericht; u kunt er niet op antwoorden."
)


def render_mail(notice: Notice, recipient: Contact, portal_url: str) -> Mail:
    """The e-mail for one recipient: Dutch, plain text and HTML, contact details and a link.

    Contact details go only to members of the match after the change: somebody who left gets a
    short notice without them.
    """
    e = html.escape
    leaver = _leaver(notice, recipient)
    url = link(portal_url, dataclasses.replace(notice, match_id="")) if leaver else link(portal_url, notice)
    greeting = f"Beste {recipient.name}," if recipient.name else "Beste collega,"
    first = intro(notice, recipient)
    text = [greeting, "", first, ""]
    body_html = [f"<p>{e(greeting)}</p>", f"<p>{e(first)}</p>"]
    if notice.kind in MATCH_KINDS and notice.kind != "match_closed" and still_member(notice, recipient):
        others = _others(notice, recipient)
        if others:
            text.append("Betrokken professionals:")
            body_html.append("<p>Betrokken professionals:</p><ul>")
            for member in others:
                text += _contact_lines(member.contact)
                body_html.append(_contact_html(member.contact))
            body_html.append("</ul>")
            text.append("")
        coordinator = _coordinator(notice)
        if coordinator is not None:
            if coordinator.professional_id == recipient.professional_id:
                text += ["Matchregisseur: u zelf.", ""]
                body_html.append("<p>Matchregisseur: u zelf.</p>")
            elif coordinator in [m.contact for m in others]:
                line = f"Matchregisseur: {_who(coordinator)}, zie hierboven."
                text += [line, ""]
                body_html.append(f"<p>{e(line)}</p>")
            else:
                text.append("Matchregisseur:")
                text += _contact_lines(coordinator)
                text.append("")
                body_html.append("<p>Matchregisseur:</p><ul>" + _contact_html(coordinator) + "</ul>")
    action = (
        worded(notice, "Bekijk de match in SluiS")
        if notice.match_id
        else "Bekijk en verleng uw signaal in SluiS"
    )
    if leaver or notice.kind in ("signal_archived", "signal_aged_out", "signal_deceased", "signal_removed"):
        action = "Bekijk uw signalen in SluiS"
    elif notice.kind == "informing_postponed":
        action = "Leg het informeren vast in SluiS"
    footer = worded(notice, _FOOTER)
    text += [f"{action}: {url}", "", footer, ""]
    body_html += [f'<p><a href="{e(url)}">{e(action)}</a></p>', f'<p style="color:#666">{e(footer)}</p>']
    page = (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{e(subject_line(notice))}</title></head><body>" + "".join(body_html) + "</body></html>"
    )
    return Mail(subject_line(notice), "\n".join(text), page, f"{title(notice)}: {url}")


def render_digest(recipient_name: str, summaries: Sequence[str], portal_url: str) -> Mail:
    """The daily summary: one line (title and link) per held notification."""
    e = html.escape
    greeting = f"Beste {recipient_name}," if recipient_name else "Beste collega,"
    n = len(summaries)
    first = f"Dit is uw dagelijkse samenvatting van SluiS: {n} {'melding' if n == 1 else 'meldingen'}."
    text = (
        [greeting, "", first, ""]
        + [f"- {s}" for s in summaries]
        + ["", f"SluiS: {portal_url}", "", _FOOTER, ""]
    )
    items = "".join(f"<li>{e(s)}</li>" for s in summaries)
    page = (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>SluiS: dagelijkse samenvatting</title>'
        f"</head><body><p>{e(greeting)}</p><p>{e(first)}</p><ul>{items}</ul>"
        f'<p><a href="{e(portal_url)}">Naar SluiS</a></p><p style="color:#666">{e(_FOOTER)}</p></body></html>'
    )
    return Mail("SluiS: dagelijkse samenvatting", "\n".join(text), page, "")


def message_id(delivery_id: str) -> str:
    """Stable per delivery: a redelivery after a crash carries the same Message-ID."""
    return f"<{delivery_id}@sluis.example>"


# --- webhooks --------------------------------------------------------------------------------


def webhook_body(notice: Notice, with_members: bool = True) -> bytes:
    """The JSON a case system receives: kind, ids, time and contact details only (the member
    list only for an organisation that still has a member in the match)."""
    doc: dict[str, object] = {
        "event_id": notice.event_id,
        "kind": notice.kind,
        "occurred_at": notice.occurred_at.isoformat(),
    }
    if notice.match_id:
        doc["match_id"] = notice.match_id
        members = notice.members if with_members else ()
        doc["members"] = [dict(m.contact.as_json(), is_coordinator=m.is_coordinator) for m in members]
    if notice.signal_id:
        doc["signal_id"] = notice.signal_id
        doc["professional"] = notice.recipients[0].as_json() if notice.recipients else None
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`SluiS-Signature` header value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">.

    A receiver recomputes the HMAC with its secret over the timestamp, a dot and the raw body,
    compares in constant time, and rejects timestamps more than 5 minutes from its clock, so
    a captured request cannot be replayed later.
    """
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: bytes, header: str, body: bytes, now: int, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """What a receiver does (used in tests and documented for organisations)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def webhook_wants(kinds: Sequence[str], kind: str) -> bool:
    return not kinds or kind in kinds


def check_webhook_url(url: str) -> str:
    """The host (what operators see); InvalidArgument for anything but an http(s) URL."""
    if len(url) > 2000 or _CONTROL.search(url):
        raise InvalidArgument("invalid_webhook_url", "De webhook-URL is ongeldig.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("invalid_webhook_url", "De webhook-URL moet met http:// of https:// beginnen.")
    return parts.hostname


def check_webhook_kinds(kinds: Sequence[str]) -> None:
    for kind in kinds:
        if kind not in SUBJECTS:
            raise InvalidArgument("unknown_kind", "Onbekend soort melding in het webhook-abonnement.")


# --- retries and digest ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did. permanent failures go straight to dead."""

    ok: bool
    error: str = ""
    permanent: bool = False
    defer_seconds: float = 0.0  # rate limited: not an attempt, try again after this


SENT_OUTCOME = Outcome(ok=True)


def after_attempt(outcome: Outcome, attempts_before: int, max_attempts: int) -> tuple[str, int]:
    """(new state, attempts) after an attempt; deferrals are not attempts."""
    if outcome.defer_seconds > 0:
        return (QUEUED if attempts_before == 0 else RETRYING), attempts_before
    attempts = attempts_before + 1
    if outcome.ok:
        return SENT, attempts
    if outcome.permanent or attempts >= max_attempts:
        return DEAD, attempts
    return RETRYING, attempts


def last_digest_moment(now: datetime, hour: int) -> datetime:
    """The most recent daily digest time (`hour`:00 Amsterdam time) at or before `now`."""
    local = now.astimezone(REGION_TZ)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment > local:
        moment = (local - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment


# --- planning: one event into inbox items and deliveries -------------------------------------


@dataclasses.dataclass(frozen=True)
class WebhookTarget:
    webhook_id: str
    organisation_id: str
    url: str
    kinds: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class InboxRow:
    item_id: str
    professional_id: str
    event_id: str
    kind: str
    title: str
    body: str
    match_id: str
    signal_id: str
    created_at: datetime
    organisation_id: str = ""


@dataclasses.dataclass(frozen=True)
class DeliveryRow:
    delivery_id: str
    event_id: str
    recipient: str
    channel: str
    kind: str
    address: str
    target: str
    recipient_name: str
    subject: str
    body_text: str
    body_html: str
    summary: str
    state: str
    next_attempt_at: datetime
    created_at: datetime
    last_error: str = ""
    organisation_id: str = ""


# Why a mail was dead-lettered without an attempt (never the address itself).
INVALID_ADDRESS = "invalid address"


def plan(
    notice: Notice,
    *,
    now: datetime,
    portal_url: str,
    daily_digest: set[str],
    webhooks: Sequence[WebhookTarget],
) -> tuple[list[InboxRow], list[DeliveryRow]]:
    """Per recipient an inbox item (always immediate) and an e-mail (held for the daily digest
    when the professional chose that); per webhook of a recipient's organisation one call."""
    inbox: list[InboxRow] = []
    deliveries: list[DeliveryRow] = []
    for recipient in notice.recipients:
        mail = render_mail(notice, recipient, portal_url)
        inbox.append(
            InboxRow(
                str(uuid.uuid4()),
                recipient.professional_id,
                notice.event_id,
                notice.kind,
                title(notice),
                intro(notice, recipient),
                notice.match_id,
                notice.signal_id,
                now,
                recipient.organisation_id,
            )
        )
        state = HELD if recipient.professional_id in daily_digest else QUEUED
        error = ""
        if not valid_email(recipient.email):
            # Undeliverable: dead at once, on its own, for the organisation's admin to fix.
            state, error = DEAD, INVALID_ADDRESS
        deliveries.append(
            DeliveryRow(
                str(uuid.uuid4()),
                notice.event_id,
                recipient.professional_id,
                EMAIL,
                notice.kind,
                recipient.email,
                email_domain(recipient.email) if state != DEAD else "",
                recipient.name,
                mail.subject,
                mail.text,
                mail.html,
                mail.summary,
                state,
                now,
                now,
                error,
                recipient.organisation_id,
            )
        )
    organisations = {r.organisation_id for r in notice.recipients if r.organisation_id}
    members_of = {
        r.organisation_id
        for r in notice.recipients
        if notice.kind not in MATCH_KINDS or still_member(notice, r)
    }
    bodies = {flag: webhook_body(notice, flag).decode() for flag in (True, False)}
    for hook in webhooks:
        if hook.organisation_id in organisations and webhook_wants(hook.kinds, notice.kind):
            body = bodies[hook.organisation_id in members_of]
            deliveries.append(
                DeliveryRow(
                    str(uuid.uuid4()),
                    notice.event_id,
                    hook.webhook_id,
                    WEBHOOK,
                    notice.kind,
                    hook.url,
                    urlsplit(hook.url).hostname or "",
                    "",
                    "",
                    body,
                    "",
                    "",
                    QUEUED,
                    now,
                    now,
                    "",
                    hook.organisation_id,
                )
            )
    return inbox, deliveries


def wrap_secret(key: bytes, secret: bytes) -> bytes:
    """Encrypt a webhook signing secret (XSalsa20-Poly1305, random nonce)."""
    from nacl.secret import SecretBox

    return bytes(SecretBox(key).encrypt(secret))


def unwrap_secret(key: bytes, wrapped: bytes) -> bytes:
    from nacl.secret import SecretBox

    return bytes(SecretBox(key).decrypt(wrapped))
