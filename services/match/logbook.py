"""Processing-log lines of the match service (docs/adr/0004-processing-log.md): pure
functions from decisions and reads to lines; the store writes them in its transactions."""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from services.common.processing_log import STATUS_ERROR, Line
from services.match import domain

RESOURCE = "sluis-match"
MATCHING = "matchvorming"
DISCLOSURE = "betrokkenheid-inzien"
REFUSED = "betrokkenheid-geweigerd"
COORDINATION = "matchregie"
NOTICE = "match-melding"
REGION_LOOKUP = "regiobeheer-raadpleging"


def decision_lines(decisions: Iterable[domain.Decision]) -> list[Line]:
    """Past and present memberships and coordinators: who joined, who left, who coordinates."""
    lines: list[Line] = []
    for d in decisions:
        if not d.changed:
            continue
        match = d.after or d.before
        assert match is not None
        before = {m.professional_id: m for m in (d.before.members if d.before else ())}
        after = {m.professional_id: m for m in (d.after.members if d.after else ())}
        base = {"sluis.match_id": match.match_id}
        for pid, m in after.items():
            if pid not in before:
                lines.append(_line("match.member_joined", MATCHING, match, m, base))
        for pid, m in before.items():
            if pid not in after:
                lines.append(_line("match.member_left", MATCHING, match, m, base))
        old = d.before.coordinator_id if d.before else ""
        new = d.after.coordinator_id if d.after else ""
        if new and new != old and new in after:
            lines.append(_line("match.coordinator", COORDINATION, match, after[new], base))
        lines += notice_lines(d.changes)
        if d.before is not None and (d.after is None or d.after.status != domain.MatchStatus.OPEN):
            lines.append(Line("match.closed", MATCHING, match.pseudonym, attributes=base))
    return lines


def _line(name: str, activity: str, match: domain.Match, m: domain.Member, base: dict[str, str]) -> Line:
    return Line(
        name,
        activity,
        match.pseudonym,
        attributes={**base, "sluis.organisation_id": m.organisation_id, "sluis.signal_id": m.signal_id},
        actor_id=m.professional_id,
        actor_organisation_id=m.organisation_id,
    )


def disclosure(
    name: str,
    pseudonym: str,
    professional_id: str,
    organisation_id: str,
    channel: str,
    match_id: str = "",
    granted: bool = True,
) -> Line:
    """A read of who is involved (granted), or a refused one with the asking organisation."""
    attributes = {"sluis.organisation_id": organisation_id, "sluis.channel": channel or "onbekend"}
    if match_id:
        attributes["sluis.match_id"] = match_id
    return Line(
        name,
        DISCLOSURE if granted else REFUSED,
        pseudonym,
        status="ok" if granted else STATUS_ERROR,
        attributes=attributes,
        actor_id=professional_id,
        actor_organisation_id=organisation_id,
    )


def list_disclosures(matches: Sequence[domain.Match], professional_id: str, channel: str) -> list[Line]:
    out = []
    for m in matches:
        me = m.member(professional_id)
        org = me.organisation_id if me is not None else ""
        out.append(disclosure("match.list", m.pseudonym, professional_id, org, channel, m.match_id))
    return out


def region_lookup(pseudonym: str, admin_id: str) -> Line:
    """The region admin looked up the person's matches (access request, objection)."""
    return Line("match.region_lookup", REGION_LOOKUP, pseudonym, actor_id=admin_id)


def notice_lines(changes: Iterable[domain.Change]) -> list[Line]:
    """Each recipient of a match notice learns who is involved (by mail, inbox or webhook,
    as notify delivers it): one disclosure line per recipient, in the transaction that
    queues the notice."""
    lines = []
    for change in changes:
        for r in change.recipients:
            attributes = {
                "sluis.match_id": change.match.match_id,
                "sluis.organisation_id": r.organisation_id,
                "sluis.channel": "melding",
                "sluis.notice": change.kind.value,
            }
            lines.append(
                Line(
                    "match.notice",
                    NOTICE,
                    change.match.pseudonym,
                    attributes=attributes,
                    actor_id=r.professional_id,
                    actor_organisation_id=r.organisation_id,
                )
            )
    return lines


def per_person(lines: Iterable[Line], about: Mapping[str, Sequence[str]]) -> list[Line]:
    """A line about a match is about every person the match is about (subjects.py: a family
    match's members), one line each, as the standard asks; other lines stay as they are."""
    out: list[Line] = []
    for line in lines:
        people = about.get(line.attributes.get("sluis.match_id", ""), ())
        if len(people) <= 1:
            out.append(line)
        else:
            out += [dataclasses.replace(line, subject=p) for p in people]
    return out


# A coordinator action's answer, where it is one (RespondTakeover carries it in the request).
ANSWERS = {"accept_coordinator": "accepted", "decline_coordinator": "declined"}


def coordination_action(
    action: str, match: domain.Match, professional_id: str, organisation_id: str, answer: str = ""
) -> Line:
    """A professional's coordinator action (take, hand over) or answer (accept or decline an
    offer, a take-over request): its own line under matchregie, whatever it changed."""
    attributes = {
        "sluis.match_id": match.match_id,
        "sluis.organisation_id": organisation_id,
        "sluis.action": action,
    }
    if answer or action in ANSWERS:
        attributes["sluis.answer"] = answer or ANSWERS[action]
    return Line(
        "match.coordination",
        COORDINATION,
        match.pseudonym,
        attributes=attributes,
        actor_id=professional_id,
        actor_organisation_id=organisation_id,
    )
