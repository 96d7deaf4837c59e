"""A person's rights, exercised through a region admin: access (inzage, GDPR art. 15), an
upheld objection (bezwaar), and a recorded death. The BSN goes to identity only; everything
else uses the pseudonym.

The access document is assembled from the current state (signals, matches) and from the
processing log of signal, match and the gateway (docs/adr/0004-processing-log.md): signals
since deleted, every disclosure per channel, past members, coordinators, objections and the
municipality's own look-ups. Kept here as a use case so that the portal (and the register of
rights requests) open the same document.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import grpc
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import processing_log_pb2 as lpb
from sluis.types.v1 import types_pb2

from services.common.errors import InvalidArgument, NotFound
from services.common.processing_log import Line
from services.common.processing_register import register
from services.common.protos import from_timestamp, to_timestamp
from services.gateway import domain
from services.gateway.usecases import audit, call, gateway, principal, signal_not_found

log = logging.getLogger(__name__)

_NINE_DIGITS = re.compile(r"\d{9}")
REQUESTERS = ("person", "legalRepresentative")
CASE_REFERENCE_MAX = 100


@dataclass
class LogEntry:
    """One processing-log line as the document shows it."""

    at: datetime | None
    name: str
    activity: str
    status: str
    organisation_id: str
    channel: str
    attributes: dict[str, str]
    actor_id: str


@dataclass
class SignalHistory:
    """A signal as far as SluiS knows it: from the current state, or only from the log when
    it was deleted since."""

    signal_id: str
    organisation_id: str
    professional_id: str = ""
    registered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""
    status: str = "deleted"
    current: spb.Signal | None = None
    # When the professional set or cleared their own reference on it (never the reference).
    reference_changed_at: list[datetime] = field(default_factory=list)


@dataclass
class Membership:
    match_id: str
    organisation_id: str
    professional_id: str
    joined_at: datetime | None = None
    left_at: datetime | None = None


@dataclass
class AccessReport:
    """Everything SluiS holds and did on one person (rendered by the API as one document)."""

    requester: str
    case_reference: str
    requested_by: str
    signals: list[SignalHistory]
    matches: list[mpb.Match]
    memberships: list[Membership]
    coordinators: list[LogEntry]
    disclosures: list[LogEntry]
    refused: list[LogEntry]
    objections: list[LogEntry]
    deaths: list[LogEntry]
    lookups: list[LogEntry]
    organisation_names: dict[str, str]
    professional_names: dict[str, str] = field(default_factory=dict)
    # Every action on the person's rights requests (the register's lines).
    rights_requests: list[LogEntry] = field(default_factory=list)


def _entry(line: lpb.ProcessingLogLine) -> LogEntry:
    attributes = dict(line.attributes)
    return LogEntry(
        at=from_timestamp(line.start_time),
        name=line.name,
        activity=line.processing_activity_id,
        status=line.status_code,
        organisation_id=attributes.get("sluis.organisation_id", line.actor_organisation_id),
        channel=attributes.get("sluis.channel", ""),
        attributes=attributes,
        actor_id=line.actor_id,
    )


def signal_histories(signals: Sequence[spb.Signal], lines: Sequence[LogEntry]) -> list[SignalHistory]:
    """Current signals plus those the log still knows of (deleted since), oldest first."""
    by_id: dict[str, SignalHistory] = {}
    for s in signals:
        by_id[s.signal_id] = SignalHistory(
            signal_id=s.signal_id,
            organisation_id=s.professional.organisation_id,
            professional_id=s.professional.professional_id,
            registered_at=from_timestamp(s.registered_at),
            ended_at=from_timestamp(s.ended_at),
            end_reason=spb.EndReason.Name(s.end_reason).removeprefix("END_REASON_").lower()
            if s.end_reason
            else "",
            status="active" if s.status == spb.SIGNAL_STATUS_ACTIVE else "archived",
            current=s,
        )
    for e in lines:
        sid = e.attributes.get("sluis.signal_id", "")
        if not sid or not e.name.startswith("signal."):
            continue
        h = by_id.setdefault(sid, SignalHistory(signal_id=sid, organisation_id=e.organisation_id))
        if e.name == "signal.register" and h.registered_at is None:
            h.registered_at = e.at
            h.professional_id = h.professional_id or e.actor_id
        elif e.name in ("signal.end", "signal.delete") and h.current is None:
            h.ended_at = e.at
            h.end_reason = e.attributes.get("reason", "")
        elif e.name == "signal.client_reference" and e.at is not None:
            h.reference_changed_at.append(e.at)
    return sorted(
        by_id.values(), key=lambda h: (h.registered_at or datetime.max.replace(tzinfo=None), h.signal_id)
    )


def memberships(lines: Sequence[LogEntry]) -> list[Membership]:
    """Past and present memberships from the joined/left lines."""
    open_: dict[tuple[str, str], Membership] = {}
    done: list[Membership] = []
    for e in lines:
        key = (e.attributes.get("sluis.match_id", ""), e.actor_id)
        if e.name == "match.member_joined":
            open_[key] = Membership(key[0], e.organisation_id, e.actor_id, joined_at=e.at)
        elif e.name == "match.member_left":
            m = open_.pop(key, Membership(key[0], e.organisation_id, e.actor_id))
            m.left_at = e.at
            done.append(m)
    return [*done, *open_.values()]


def _check_request(requester: str, case_reference: str) -> tuple[str, str]:
    if requester not in REQUESTERS:
        raise InvalidArgument(
            "invalid_requester",
            "Geef aan wie het verzoek doet: person of legalRepresentative.",
            field="requester",
        )
    case_reference = case_reference.strip()
    if (
        not case_reference
        or len(case_reference) > CASE_REFERENCE_MAX
        or _NINE_DIGITS.search(case_reference)
        or domain.has_control_characters(case_reference)  # NUL gave a 500 (found by make fuzz)
    ):
        raise InvalidArgument(
            "invalid_case_reference",
            f"Geef een zaaknummer van hoogstens {CASE_REFERENCE_MAX} tekens (geen BSN).",
            field="caseReference",
        )
    return requester, case_reference


def access_request(bsn: str, requester: str = "person", case_reference: str = "-") -> AccessReport:
    """The complete access document of one person. The request itself is a processing: its
    line (and the admin in the audit) is written before any answer leaves."""
    requester, case_reference = _check_request(requester, case_reference)
    gw = gateway()
    b = gw.backends
    who = principal()
    pseudonym = call(b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=bsn)).pseudonym
    gw.store.log_processing(
        [
            Line(
                "access.request",
                "inzageverzoek",
                pseudonym,
                attributes={"sluis.requester": requester, "sluis.case_reference": case_reference},
                actor_id=who.actor_id,
                actor_organisation_id=str(who.organisation_id or ""),
            )
        ]
    )
    admin = who.actor_id
    signals = call(
        b.signal.ListSignalsOnPseudonym,
        spb.ListSignalsOnPseudonymRequest(pseudonym=pseudonym, admin_id=admin),
    ).signals
    matches = call(
        b.match.ListMatchesOnPseudonym, mpb.ListMatchesOnPseudonymRequest(pseudonym=pseudonym, admin_id=admin)
    ).matches
    from_signal = call(b.signal.ListProcessingLog, spb.ListProcessingLogRequest(pseudonym=pseudonym))
    from_match = call(b.match.ListProcessingLog, mpb.ListProcessingLogRequest(pseudonym=pseudonym))
    # The person's tags under every key signal and match know of (their rotation links): the
    # gateway's own lines and notify's (which never sees a pseudonym) are found by them.
    tags = gw.store.subject_tags(pseudonym, [*from_signal.subject_tags, *from_match.subject_tags])
    raw = [
        *from_signal.lines,
        *from_match.lines,
        *gw.store.processing_log(pseudonym, tags),
        *call(b.notify.ListProcessingLog, npb.ListProcessingLogRequest(subject_tags=tags)).lines,
    ]
    lines = sorted((_entry(x) for x in raw), key=lambda e: (e.at is None, e.at or datetime.min))
    by_activity: dict[str, list[LogEntry]] = {}
    for e in lines:
        by_activity.setdefault(e.activity, []).append(e)
    names = {str(o.id): o.name for o in gw.store.organisations(who.region)}
    histories = signal_histories(signals, lines)
    report = AccessReport(
        requester=requester,
        case_reference=case_reference,
        requested_by=admin,
        signals=histories,
        matches=list(matches),
        memberships=memberships(lines),
        # Who became coordinator, and each coordinator action or answer (match.coordination).
        coordinators=[e for e in lines if e.name in ("match.coordinator", "match.coordination")],
        disclosures=[*by_activity.get("betrokkenheid-inzien", []), *by_activity.get("match-melding", [])],
        refused=by_activity.get("betrokkenheid-geweigerd", []),
        objections=by_activity.get("bezwaar", []),
        deaths=by_activity.get("overlijden", []),
        lookups=[*by_activity.get("regiobeheer-raadpleging", []), *by_activity.get("inzageverzoek", [])],
        organisation_names=names,
        professional_names=_professional_names(histories, lines),
        rights_requests=by_activity.get("rechtenverzoek", []),
    )
    report.disclosures.sort(key=lambda e: (e.at is None, e.at or datetime.min))
    audit("access_request", case_reference, f"signals={len(histories)} lines={len(lines)}")
    return report


def _professional_names(histories: Sequence[SignalHistory], lines: Sequence[LogEntry]) -> dict[str, str]:
    """Names only of professionals whose processing the register says the person may see
    (who signalled, who coordinated)."""
    reg = register()
    ids = {
        h.professional_id for h in histories if h.professional_id and reg.shows_professional("signalering")
    }
    ids |= {e.actor_id for e in lines if e.actor_id and reg.shows_professional(e.activity)}
    store = gateway().store
    names = {}
    for pid in sorted(ids):
        try:
            pro = store.professional(pid)
        except ValueError:
            pro = None
        if pro is not None:
            names[pid] = pro.name
    return names


def record_death(bsn: str) -> int:
    """A region admin records a person's death: every active signal on them is ended (reason
    deceased) and archived, not deleted. The BSN goes to identity only; returns how many."""
    gw = gateway()
    b = gw.backends
    pseudonym = call(b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=bsn)).pseudonym
    who = principal()
    gw.store.log_processing([Line("death.record", "overlijden", pseudonym, actor_id=who.actor_id)])
    ended: int = call(b.signal.RecordDeath, spb.RecordDeathRequest(pseudonym=pseudonym)).ended
    audit("death.record", "", f"signals_ended={ended}")
    return ended


def uphold_objection(signal_id: str) -> str:
    """An upheld objection: the signal is removed at once, without archive, and its
    organisation may not signal the person again until the block is lifted. Returns the
    objection id (the audit names the objection: the signal id is erased everywhere).
    Signal logs the removal (activity bezwaar) in the same transaction."""
    if not domain.is_path_id(signal_id):
        raise signal_not_found()
    removed = call(
        gateway().backends.signal.RemoveSignal,
        spb.RemoveSignalRequest(signal_id=signal_id, reason=spb.END_REASON_OBJECTION_UPHELD),
        signal_not_found(),
    )
    objection_id: str = removed.objection_id
    # Erasure reaches the gateway's copies too: stored Idempotency-Key replies naming it.
    gateway().store.erase_idempotency_replies(signal_id)
    audit("objection.uphold", objection_id)
    _tell_organisation_admins(removed.organisation_id, objection_id)
    return objection_id


def _tell_organisation_admins(organisation_id: str, objection_id: str) -> None:
    """The signalling organisation's admins learn why a signal disappeared (issue 12): a mail
    and an inbox item through notify, naming neither the signal nor the person.

    The professional is told by signal in the removal's own transaction; this second notice
    is sent after it (the gateway knows the admins). Event ids derive from the objection, so
    notify delivers each once; a failure is logged and audited, the removal stands.
    """
    if not organisation_id:
        return
    gw = gateway()
    admins = gw.store.organisation_admins(organisation_id)
    if not admins:
        return
    org = gw.store.organisation(organisation_id)
    events = [
        spb.SignalEvent(
            event_id=f"objection-admin:{objection_id}:{a.id}",
            kind=spb.SIGNAL_EVENT_KIND_DELETED,
            end_reason=spb.END_REASON_OBJECTION_UPHELD,
            professional=types_pb2.ProfessionalContact(
                professional_id=str(a.id),
                name=a.name,
                role="organisatiebeheerder",
                email=a.email,
                organisation_id=organisation_id,
                organisation_name=org.name if org is not None else "",
            ),
            occurred_at=to_timestamp(gw.clock.now()),
        )
        for a in admins
    ]
    try:
        gw.backends.notify.ApplySignalEvents(
            npb.ApplySignalEventsRequest(events=events), timeout=gw.backends.timeout
        )
    except grpc.RpcError:
        log.warning(
            "organisation admins not told of an upheld objection", extra={"objection_id": objection_id}
        )
        audit("objection.tell_admins", objection_id, "failed")


def objection_not_found() -> NotFound:
    return NotFound("objection_not_found", "Deze blokkade bestaat niet (meer).")


def lift_objection_block(objection_id: str) -> None:
    """A region admin lifts the block: the organisation may signal the person again."""
    if not domain.is_path_id(objection_id):
        raise objection_not_found()
    call(
        gateway().backends.signal.LiftObjectionBlock,
        spb.LiftObjectionBlockRequest(objection_id=objection_id),
        objection_not_found(),
    )
    audit("objection.lift_block", objection_id)
