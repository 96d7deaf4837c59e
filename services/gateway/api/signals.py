"""Signals: register, list mine, get, renew, end, and who else is involved."""

from typing import Any

from flask import Blueprint, Response
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import types_pb2

from services.common.errors import NotFound, PermissionDenied
from services.gateway import domain
from services.gateway.api import (
    call,
    convert,
    gateway,
    href,
    json_body,
    no_query,
    ok,
    professional_id,
    require_id,
)
from services.gateway.store import Organisation, Professional

bp = Blueprint("signals", __name__)

# One answer for "unknown", "not yours" and "malformed id": no existence leak.
SIGNAL_NOT_FOUND_DETAIL = "Signaal niet gevonden."


def signal_not_found() -> NotFound:
    return NotFound("signal_not_found", SIGNAL_NOT_FOUND_DETAIL)


def contact_of(pro: Professional, org: Organisation) -> types_pb2.ProfessionalContact:
    """The contact snapshot that travels with a signal (the only personal data of a professional)."""
    return types_pb2.ProfessionalContact(
        professional_id=str(pro.id),
        name=pro.name,
        role=pro.role,
        phone=pro.phone,
        email=pro.email,
        organisation_id=str(org.id),
        organisation_name=org.name,
    )


def profile_of(org: Organisation) -> spb.OrganisationProfile:
    return spb.OrganisationProfile(
        organisation_id=str(org.id),
        name=org.name,
        legal_basis=convert.LEGAL_BASIS[org.legal_basis],
        legal_ground=org.legal_ground,
        domains=org.domains,
        may_coordinate=org.may_coordinate,
    )


def informed_pb(informed: domain.Informed) -> spb.InformedRecord:
    if informed.postpone_reason:
        return spb.InformedRecord(postpone_reason=convert.POSTPONE[informed.postpone_reason])
    return spb.InformedRecord(
        party=convert.PARTY[informed.party],
        method=convert.METHOD[informed.method],
        informed_on=informed.informed_on.isoformat() if informed.informed_on else "",
    )


def caller_and_organisation() -> tuple[Professional, Organisation]:
    gw = gateway()
    pro = gw.store.professional(professional_id())
    org = gw.store.organisation(pro.organisation_id) if pro else None
    if pro is None or org is None or not pro.active:
        raise PermissionDenied("professional_inactive", "Deze professional is niet (meer) actief.")
    return pro, org


def registration_request(
    reg: domain.SignalRegistration,
    pseudonym: str,
    pro: Professional,
    org: Organisation,
    municipality_code: str = "",
) -> spb.RegisterSignalRequest:
    return spb.RegisterSignalRequest(
        pseudonym=pseudonym,
        birth_date=reg.birth_date.isoformat(),
        professional=contact_of(pro, org),
        organisation=profile_of(org),
        informed=informed_pb(reg.informed),
        multi_problem_attested=reg.multi_problem_attested,
        consent_given=reg.consent_given,
        municipality_code=municipality_code,
    )


@bp.post("/signals")
def register() -> Response:
    gw = gateway()
    no_query()
    reg = domain.parse_signal_registration(json_body(), gw.today())
    pro, org = caller_and_organisation()
    b = gw.backends
    # With a BRP link identity checks the birth date (400 birth_date_mismatch) and says
    # where the person lives; without one the registration stays "unverified" (issue 18).
    person = b.identity.Pseudonymise(
        ipb.PseudonymiseRequest(bsn=reg.bsn, birth_date=reg.birth_date.isoformat()), timeout=b.timeout
    )
    resp = b.signal.RegisterSignal(
        registration_request(reg, person.pseudonym, pro, org, person.municipality_code), timeout=b.timeout
    )
    doc = convert.signal_json(resp.signal)
    return ok(doc, 201, {"Location": doc["_links"]["self"]["href"]})


def _page_of(fetch: Any, page: domain.Page) -> tuple[Any, bool]:
    """Walk the back end's page tokens to page number `page` (1-based)."""
    token = ""
    for number in range(1, page.number + 1):
        resp = fetch(token)
        if number == page.number:
            return resp, bool(resp.next_page_token)
        token = resp.next_page_token
        if not token:
            return None, False
    return None, False


def list_links(path: str, page: domain.Page, has_next: bool, extra: str = "") -> dict[str, Any]:
    def at(number: int) -> dict[str, str]:
        return href(f"{path}?page={number}&pageSize={page.size}{extra}")

    links: dict[str, Any] = {"self": at(page.number)}
    if has_next:
        links["next"] = at(page.number + 1)
    if page.number > 1:
        links["prev"] = at(page.number - 1)
    return links


@bp.get("/signals")
def list_signals() -> Response:
    no_query("status", "page", "pageSize")
    from flask import request

    page = domain.parse_page(request.args)
    status = domain.parse_choice_param(request.args, "status", domain.SIGNAL_STATUSES)
    b = gateway().backends
    pid = professional_id()

    def fetch(token: str) -> spb.ListSignalsResponse:
        req = spb.ListSignalsRequest(
            professional_id=pid,
            status=convert.STATUS.get(status, spb.SIGNAL_STATUS_UNSPECIFIED),
            page_size=page.size,
            page_token=token,
        )
        resp: spb.ListSignalsResponse = b.signal.ListSignals(req, timeout=b.timeout)
        return resp

    resp, has_next = _page_of(fetch, page)
    signals = [] if resp is None else [convert.signal_json(s) for s in resp.signals]
    extra = f"&status={status}" if status else ""
    return ok({"signals": signals, "_links": list_links("/signals", page, has_next, extra)})


def own_signal(signal_id: str) -> spb.Signal:
    """The caller's signal, or the one 404 for unknown / not yours."""
    require_id(signal_id, signal_not_found())
    b = gateway().backends
    resp = call(
        b.signal.GetSignal,
        spb.GetSignalRequest(signal_id=signal_id, professional_id=professional_id()),
        signal_not_found(),
    )
    sig: spb.Signal = resp.signal
    return sig


@bp.get("/signals/<signal_id>")
def get(signal_id: str) -> Response:
    no_query()
    return ok(convert.signal_json(own_signal(signal_id)))


@bp.post("/signals/<signal_id>/renew")
def renew(signal_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    require_id(signal_id, signal_not_found())
    b = gateway().backends
    resp = call(
        b.signal.RenewSignal,
        spb.RenewSignalRequest(signal_id=signal_id, professional_id=professional_id()),
        signal_not_found(),
    )
    return ok(convert.signal_json(resp.signal))


@bp.post("/signals/<signal_id>/end")
def end(signal_id: str) -> Response:
    no_query()
    reason = domain.parse_end_reason(json_body())
    require_id(signal_id, signal_not_found())
    b = gateway().backends
    resp = call(
        b.signal.EndSignal,
        spb.EndSignalRequest(
            signal_id=signal_id, professional_id=professional_id(), reason=convert.END_REASON[reason]
        ),
        signal_not_found(),
    )
    if not resp.HasField("signal") or not resp.signal.signal_id:
        return Response(status=204)
    return ok(convert.signal_json(resp.signal))


@bp.get("/signals/<signal_id>/involvement")
def involvement(signal_id: str) -> Response:
    """Who else is involved: only through the caller's own signal; the same 404 otherwise."""
    no_query()
    sig = own_signal(signal_id)
    b = gateway().backends
    resp = call(
        b.match.GetInvolvement,
        mpb.GetInvolvementRequest(pseudonym=sig.pseudonym, professional_id=professional_id(), purpose="api"),
        signal_not_found(),
    )
    return ok(convert.involvement_json(resp, signal_id))
