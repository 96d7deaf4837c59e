"""The rights-requests register (region admins): access requests, objections and
restrictions of processing, each with its deadline, status and decision (rights.py has the
rules, rights_store.py the SQL).

The BSN is entered to register a request and again to produce an access document; it goes
to identity only. Deciding runs the existing flows: an upheld objection is
access.uphold_objection (erasure and block) per signal, an upheld access request is
access.access_request. A restriction (AVG art. 18) is signal's RestrictSignals: match then
does not disclose the restricted signals.
"""

import uuid
from dataclasses import replace

from sluis.identity.v1 import identity_pb2 as ipb
from sluis.signal.v1 import signal_pb2 as spb

from services.common import processing_log
from services.common.errors import InvalidArgument, NotFound
from services.gateway import domain, rights
from services.gateway.rights import RightsRequest
from services.gateway.rights_store import RightsStore
from services.gateway.usecases import access, audit, call, gateway, principal


def not_found() -> NotFound:
    return NotFound("rights_request_not_found", "Dit verzoek bestaat niet.")


def _store() -> RightsStore:
    return RightsStore(gateway().store.pool)


def _person(bsn: str) -> tuple[str, list[str]]:
    """The person's pseudonym and the ids of every signal held on them (the BSN goes to
    identity only)."""
    b = gateway().backends
    pseudonym = call(b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=bsn)).pseudonym
    held = call(b.signal.ListSignalsOnPseudonym, spb.ListSignalsOnPseudonymRequest(pseudonym=pseudonym))
    return pseudonym, [s.signal_id for s in held.signals]


def _signals_of(bsn: str) -> list[str]:
    return _person(bsn)[1]


def create(new: rights.NewRequest) -> RightsRequest:
    gw = gateway()
    pseudonym, held = _person(new.bsn)
    concerned = rights.concerned_signals(new.signal_ids, held)
    req = _store().create(
        principal().region,
        RightsRequest(
            id=str(uuid.uuid4()),
            kind=new.kind,
            requester=new.requester,
            case_reference=new.case_reference,
            received_on=new.received_on,
            extension_months=0,
            extension_reason="",
            status="received",
            decision="",
            decision_reason="",
            decided_at=None,
            restricted=False,
            restricted_at=None,
            signal_ids=concerned,
            objection_ids=(),
            created_at=gw.clock.now(),
        ),
        processing_log.seal(pseudonym),
        principal().actor_id,
    )
    audit("rights_request.create", req.id, f"kind={req.kind} signals={len(concerned)}")
    return req


def requests(
    status: str = "", overdue: bool | None = None, kind: str = "", page: domain.Page | None = None
) -> tuple[list[RightsRequest], bool]:
    """One page of the register (and whether there is a next one)."""
    page = page or domain.Page(1, domain.MAX_PAGE_SIZE)
    found = _store().list(
        principal().region,
        today=gateway().today(),
        status=status,
        overdue=overdue,
        kind=kind,
        limit=page.size + 1,
        offset=(page.number - 1) * page.size,
    )
    return found[: page.size], len(found) > page.size


def request(request_id: str) -> RightsRequest:
    req = _store().get(principal().region, request_id) if domain.is_uuid(request_id) else None
    if req is None:
        raise not_found()
    return req


def start(request_id: str) -> RightsRequest:
    req = _store().save(rights.started(request(request_id)), "start", principal().actor_id)
    audit("rights_request.start", req.id)
    return req


def extend(request_id: str, ext: rights.Extension) -> RightsRequest:
    req = _store().save(
        rights.extended(request(request_id), ext, gateway().today()), "extend", principal().actor_id
    )
    audit("rights_request.extend", req.id, f"months={req.extension_months}")
    return req


def _restrict(signal_ids: tuple[str, ...], restricted: bool) -> None:
    if signal_ids:
        call(
            gateway().backends.signal.RestrictSignals,
            spb.RestrictSignalsRequest(signal_ids=list(signal_ids), restricted=restricted),
        )


def set_restriction(request_id: str, restricted: bool) -> RightsRequest:
    """Restrict the processing of the request's signals (AVG art. 18), or lift it."""
    req = request(request_id)
    rights.can_restrict(req, restricted)
    _restrict(req.signal_ids, restricted)
    action = "restrict" if restricted else "lift_restriction"
    req = _store().save(
        rights.after_restriction(req, restricted, gateway().clock.now()), action, principal().actor_id
    )
    audit("rights_request.restrict" if restricted else "rights_request.lift_restriction", req.id)
    return req


def _uphold_objection(req: RightsRequest) -> RightsRequest:
    """The existing objection flow per signal: erased at once, its organisation blocked. The
    register keeps the objection id instead of the (now erased) signal id; saved per signal,
    so a failure half-way leaves a register that says what was done."""
    store = _store()
    for signal_id in req.signal_ids:
        try:
            objection_id = access.uphold_objection(signal_id)
        except NotFound:  # erased meanwhile (ended as unjustified, purged): nothing to remove
            objection_id = ""
        req = store.save(
            replace(
                req,
                signal_ids=tuple(s for s in req.signal_ids if s != signal_id),
                objection_ids=req.objection_ids + ((objection_id,) if objection_id else ()),
            )
        )
    return req


def decide(request_id: str, decision: rights.Decision) -> tuple[RightsRequest, access.AccessReport | None]:
    """Decide the request; an upheld access request returns the access document."""
    req = request(request_id)
    rights.decided(req, decision, gateway().clock.now())  # refused before anything runs
    report = None
    if req.kind == "access" and decision.decision == "upheld":
        report = _document(req, decision.bsn)
    if req.kind == "objection" and decision.decision == "upheld":
        req = _uphold_objection(req)
    keep = rights.restriction_after(req, decision.decision)
    if keep != req.restricted and req.signal_ids:
        _restrict(req.signal_ids, keep)
    now = gateway().clock.now()
    req = replace(req, restricted=keep, restricted_at=(req.restricted_at or now) if keep else None)
    req = _store().save(rights.minimised(rights.decided(req, decision, now)), "decide", principal().actor_id)
    audit("rights_request.decide", req.id, f"decision={req.decision}")
    return req, report


def access_document(request_id: str, bsn: str) -> access.AccessReport:
    """The access document of an access request, again (printable page): the BSN is entered
    each time, since the register does not keep it."""
    req = request(request_id)
    if req.kind != "access":
        raise not_found()
    return _document(req, domain.check_bsn(bsn))


def _document(req: RightsRequest, bsn: str) -> access.AccessReport:
    """The access document through the existing use case, once the BSN is shown to be the
    request's person (one of the signals it concerns is held on them)."""
    if req.signal_ids and not set(req.signal_ids) & set(_signals_of(bsn)):
        raise InvalidArgument(
            "bsn_mismatch", "Dit BSN hoort niet bij de persoon van dit verzoek.", field="bsn"
        )
    return access.access_request(bsn, req.requester, req.case_reference or "-")
