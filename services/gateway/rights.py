"""The rules of the rights-requests register (AVG art. 12, 15, 18 and 21), without I/O.

A citizen's request reaches the region: access (inzage, art. 15), objection (bezwaar,
art. 21) or restriction of processing (beperking, art. 18). The region answers within one
month of receipt; where necessary it extends that by at most two further months, recording
why (art. 12(3)). Every request has a status (received -> inProgress -> extended ->
decided) and, once decided, a decision (upheld or rejected) with its reason.

What the register holds about the person: no BSN and no pseudonym, only the ids of the
signals concerned (random, no person data), replaced by the objection ids once an upheld
objection erased those signals, and the person as the processing log stores them (sealed),
so that every action on the request is a log line about them (`log_line`). Why and what
follows is in docs/rights-requests.md.
"""

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.processing_log import Line, Sealed
from services.gateway.domain import (
    check_bsn,
    expect_choice,
    expect_date,
    expect_object,
    expect_str,
    expect_str_list,
    invalid,
)

KINDS = ("access", "objection", "restriction")
REQUESTERS = ("person", "legalRepresentative")
STATUSES = ("received", "inProgress", "extended", "decided")
DECISIONS = ("upheld", "rejected")
# Art. 12(3): one month, extendable "by two further months where necessary".
ANSWER_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
MAX_REASON = 500
MAX_CASE_REFERENCE = 100
MAX_SIGNALS = 100


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the last day of that month when it is shorter
    (31 January + 1 month = 28/29 February), as a legal term in months is counted."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class RightsRequest:
    """One request in the register."""

    id: str
    kind: str
    requester: str
    case_reference: str
    received_on: date
    extension_months: int
    extension_reason: str
    status: str
    decision: str
    decision_reason: str
    decided_at: datetime | None
    restricted: bool
    restricted_at: datetime | None
    signal_ids: tuple[str, ...]
    objection_ids: tuple[str, ...]
    created_at: datetime

    @property
    def original_deadline(self) -> date:
        return add_months(self.received_on, ANSWER_MONTHS)

    @property
    def deadline(self) -> date:
        """The legal deadline now in force (the extension included)."""
        return add_months(self.received_on, ANSWER_MONTHS + self.extension_months)

    def overdue(self, today: date) -> bool:
        """Not decided and past the deadline (the deadline day itself is still in time)."""
        return self.status != "decided" and today > self.deadline

    @property
    def decided(self) -> bool:
        return self.status == "decided"


# -- input -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    kind: str
    requester: str
    case_reference: str
    received_on: date
    bsn: str
    signal_ids: tuple[str, ...] | None  # None: every signal held on the person


def parse_new_request(body: Any, today: date) -> NewRequest:
    """POST /v1/rights-requests. The BSN goes to identity only and is never stored."""
    doc = expect_object(body, "", ("kind", "requester", "receivedOn", "bsn"), ("caseReference", "signalIds"))
    received_on = expect_date(doc["receivedOn"], "receivedOn")
    if received_on > today:
        raise invalid("receivedOn", "De ontvangstdatum ligt in de toekomst.", "received_in_future")
    signal_ids = None
    if "signalIds" in doc:
        signal_ids = tuple(
            dict.fromkeys(expect_str_list(doc["signalIds"], "signalIds", max_items=MAX_SIGNALS))
        )
    return NewRequest(
        kind=expect_choice(doc["kind"], "kind", KINDS),
        requester=expect_choice(doc["requester"], "requester", REQUESTERS),
        case_reference=expect_str(
            doc.get("caseReference", ""), "caseReference", max_len=MAX_CASE_REFERENCE, allow_empty=True
        ).strip(),
        received_on=received_on,
        bsn=check_bsn(expect_str(doc["bsn"], "bsn", max_len=9)),
        signal_ids=signal_ids,
    )


def concerned_signals(requested: tuple[str, ...] | None, held: list[str]) -> tuple[str, ...]:
    """The signals a request is about: those named (each must be held on the person: no
    probing of other people's signal ids), or every signal held on the person."""
    if requested is None:
        return tuple(held)
    known = set(held)
    for i, signal_id in enumerate(requested):
        if signal_id not in known:
            raise invalid(
                f"signalIds[{i}]", "Dit signaal hoort niet bij deze persoon.", "signal_not_of_person"
            )
    return requested


@dataclass(frozen=True)
class Extension:
    months: int
    reason: str


def parse_extension(body: Any) -> Extension:
    doc = expect_object(body, "", ("months", "reason"))
    months = doc["months"]
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise invalid(
            "months", f"Verleng met 1 tot en met {MAX_EXTENSION_MONTHS} maanden.", "extension_too_long"
        )
    return Extension(months, expect_str(doc["reason"], "reason", max_len=MAX_REASON).strip())


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str
    bsn: str  # access requests: re-entered to produce the document, never stored


def parse_decision(body: Any, kind: str) -> Decision:
    optional = ("bsn",) if kind == "access" else ()
    doc = expect_object(body, "", ("decision", "reason"), optional)
    decision = expect_choice(doc["decision"], "decision", DECISIONS)
    bsn = ""
    if kind == "access" and decision == "upheld":
        if "bsn" not in doc:
            raise invalid("bsn", "Voer het BSN opnieuw in om het inzagedocument te maken.", "missing_field")
        bsn = check_bsn(expect_str(doc["bsn"], "bsn", max_len=9))
    return Decision(decision, expect_str(doc["reason"], "reason", max_len=MAX_REASON).strip(), bsn)


def parse_filters(args: Mapping[str, str]) -> tuple[str, bool | None, str]:
    """GET /v1/rights-requests: status, overdue (true/false) and kind filters."""
    status = args.get("status")
    if status is not None:
        expect_choice(status, "status", STATUSES)
    overdue: bool | None = None
    if "overdue" in args:
        if args["overdue"] not in ("true", "false"):
            raise invalid("overdue", "Parameter 'overdue' moet true of false zijn.")
        overdue = args["overdue"] == "true"
    kind = args.get("kind")
    if kind is not None:
        expect_choice(kind, "kind", KINDS)
    return status or "", overdue, kind or ""


# -- transitions -----------------------------------------------------------------------------


def _open(req: RightsRequest) -> None:
    if req.decided:
        raise FailedPrecondition("request_decided", "Over dit verzoek is al besloten.")


def started(req: RightsRequest) -> RightsRequest:
    """The region takes the request in hand (in behandeling); idempotent."""
    _open(req)
    return replace(req, status="inProgress") if req.status == "received" else req


def extended(req: RightsRequest, ext: Extension, today: date) -> RightsRequest:
    """The deadline extended, with its reason: at most two further months in all, and only
    while the deadline in force has not passed (the requester must be told in time)."""
    _open(req)
    if req.overdue(today):
        raise FailedPrecondition("deadline_passed", "De termijn is al verstreken; verlengen kan niet meer.")
    if req.extension_months + ext.months > MAX_EXTENSION_MONTHS:
        raise InvalidArgument(
            "extension_too_long",
            f"De termijn kan in totaal met ten hoogste {MAX_EXTENSION_MONTHS} maanden worden verlengd.",
            field="months",
        )
    reason = f"{req.extension_reason}\n{ext.reason}".strip() if req.extension_reason else ext.reason
    return replace(
        req, status="extended", extension_months=req.extension_months + ext.months, extension_reason=reason
    )


def decided(req: RightsRequest, decision: Decision, now: datetime) -> RightsRequest:
    _open(req)
    return replace(
        req, status="decided", decision=decision.decision, decision_reason=decision.reason, decided_at=now
    )


def restriction_after(req: RightsRequest, decision: str) -> bool:
    """Whether the signals stay restricted once the request is decided: an upheld restriction
    request restricts; an objection's restriction pending its assessment (art. 18(1)(d))
    ends with the decision (upheld: the signals are gone anyway)."""
    if req.kind == "restriction":
        return decision == "upheld"
    return req.restricted and req.kind == "access"


def can_restrict(req: RightsRequest, restricted: bool) -> None:
    """A restriction starts only while the request is open; it may be lifted at any time
    (an upheld restriction request keeps it in force after the decision until then)."""
    if restricted:
        _open(req)
        if not req.signal_ids:
            raise FailedPrecondition("no_signals", "Er zijn geen signalen om te beperken.")


def after_restriction(req: RightsRequest, restricted: bool, now: datetime) -> RightsRequest:
    if restricted:
        return replace(started(req), restricted=True, restricted_at=now)
    return minimised(replace(req, restricted=False, restricted_at=None))


def minimised(req: RightsRequest) -> RightsRequest:
    """Data minimisation: once decided and not restricted, the register no longer needs to
    know which signals the request was about (the decision and its reason remain)."""
    if req.decided and not req.restricted:
        return replace(req, signal_ids=())
    return req


# The register of processing activities' id of every action on a request.
ACTIVITY = "rechtenverzoek"


def log_line(req: RightsRequest, action: str, subject: Sealed, actor_id: str) -> Line:
    """The processing-log line of one action on a request (create, start, extend, restrict,
    lift_restriction, decide): what and the outcome, never the reasons' text."""
    attributes = {
        "sluis.rights_request_id": req.id,
        "sluis.kind": req.kind,
        "sluis.requester": req.requester,
        "sluis.action": action,
        "sluis.status": req.status,
    }
    if req.decision:
        attributes["sluis.decision"] = req.decision
    if action == "extend":
        attributes["sluis.extension_months"] = str(req.extension_months)
    return Line(
        f"rights_request.{action}", ACTIVITY, "", sealed=subject, attributes=attributes, actor_id=actor_id
    )
