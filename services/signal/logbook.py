"""Processing-log lines of the signal service (docs/adr/0004-processing-log.md): pure
functions from signals and their changes to lines; the store writes them in the same
transaction as the change. A deleted signal survives here: its registration and removal
lines (date, organisation, reason) stay until the log's own retention ends."""

from collections.abc import Iterable

from services.common.processing_log import Line
from services.signal import domain

RESOURCE = "sluis-signal"
SIGNALLING = "signalering"
REGION_LOOKUP = "regiobeheer-raadpleging"
OBJECTION = "bezwaar"
DEATH = "overlijden"


def _attributes(s: domain.Signal, **extra: str) -> dict[str, str]:
    return {
        "sluis.signal_id": s.signal_id,
        "sluis.organisation_id": s.organisation.organisation_id,
        **extra,
    }


def signal_line(name: str, s: domain.Signal, activity: str = SIGNALLING, **extra: str) -> Line:
    return Line(
        name,
        activity,
        s.pseudonym,
        attributes=_attributes(s, **extra),
        actor_id=s.professional.professional_id,
        actor_organisation_id=s.organisation.organisation_id,
    )


def registered(signals: Iterable[domain.Signal], channel: str) -> list[Line]:
    return [signal_line("signal.register", s, channel=channel) for s in signals]


def ended(signals: Iterable[domain.Signal], reason: domain.EndReason, actor_id: str = "") -> list[Line]:
    """Ended signals; a death or an objection is its own activity, with the admin as actor."""
    activity = {domain.EndReason.DECEASED: DEATH, domain.EndReason.OBJECTION_UPHELD: OBJECTION}.get(
        reason, SIGNALLING
    )
    lines = []
    for s in signals:
        line = signal_line("signal.end", s, activity, reason=reason.value)
        if actor_id:
            line = Line(line.name, line.activity, line.subject, attributes=line.attributes, actor_id=actor_id)
        lines.append(line)
    return lines


def changed(before: domain.Signal | None, after: domain.Signal | None, reason: str = "") -> list[Line]:
    """One line for a decided change of one signal (renewed, ended, deleted, informed)."""
    if before is None:
        return []
    if after is None:
        why = reason or (before.end_reason.value if before.end_reason else "")
        activity = OBJECTION if why == domain.EndReason.OBJECTION_UPHELD else SIGNALLING
        return [signal_line("signal.delete", before, activity, reason=why)]
    if after.status != before.status and after.end_reason is not None:
        return ended([after], after.end_reason)
    if after.active_until != before.active_until:
        return [signal_line("signal.renew", after)]
    return [signal_line("signal.update", after)]


def transferred(signals: Iterable[domain.Signal], from_professional_id: str) -> list[Line]:
    return [signal_line("signal.transfer", s, transferred_from=from_professional_id) for s in signals]


def region_lookup(pseudonym: str, admin_id: str) -> Line:
    return Line("signal.region_lookup", REGION_LOOKUP, pseudonym, actor_id=admin_id)


def client_reference(s: domain.Signal) -> Line:
    """The professional set or cleared their own reference on the signal (issue 17); the
    line says which, never the reference (the organisation's own client number)."""
    return signal_line("signal.client_reference", s, change="set" if s.client_reference else "cleared")
