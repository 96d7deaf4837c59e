"""Signals: THE place where a signal is registered, listed, renewed, ended and where who
else is involved is asked. Used by the REST API, the portal and the bulk worker."""

from collections.abc import Sequence
from typing import Any

from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import types_pb2

from services.common.errors import PermissionDenied
from services.gateway import convert, domain
from services.gateway.store import GatewayStore, Organisation, Professional
from services.gateway.usecases import (
    call,
    gateway,
    page_of,
    professional_id,
    require_active,
    signal_not_found,
    walk,
)


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


def _party_pb(informed: domain.Informed | None) -> spb.PartyInformed | None:
    if informed is None:
        return None
    if informed.postpone_reason:
        return spb.PartyInformed(postpone_reason=convert.POSTPONE[informed.postpone_reason])
    return spb.PartyInformed(
        method=convert.METHOD[informed.method],
        informed_on=informed.informed_on.isoformat() if informed.informed_on else "",
    )


def informed_pb(informed: domain.Informed) -> spb.InformedRecord:
    if informed.person is not None or informed.legal_representative is not None:
        return spb.InformedRecord(
            person=_party_pb(informed.person),
            legal_representative=_party_pb(informed.legal_representative),
            representative_reason=convert.REPRESENTATIVE_REASON.get(
                informed.representative_reason, spb.REPRESENTATIVE_REASON_UNSPECIFIED
            ),
        )
    if informed.postpone_reason:
        return spb.InformedRecord(postpone_reason=convert.POSTPONE[informed.postpone_reason])
    return spb.InformedRecord(
        party=convert.PARTY[informed.party],
        method=convert.METHOD[informed.method],
        informed_on=informed.informed_on.isoformat() if informed.informed_on else "",
    )


def active_professional(store: GatewayStore, pid: str) -> tuple[Professional, Organisation]:
    """An active professional and their organisation (one cached query), or the one refusal."""
    found = store.professional_context(pid)
    if found is None or not found[0].active:
        raise PermissionDenied("professional_inactive", "Deze professional is niet (meer) actief.")
    return found


def caller_and_organisation() -> tuple[Professional, Organisation]:
    return active_professional(gateway().store, professional_id())


def registration_request(
    reg: domain.SignalRegistration,
    pseudonym: str,
    pro: Professional,
    org: Organisation,
    municipality_code: str = "",
    parent_pseudonyms: Sequence[str] = (),
) -> spb.RegisterSignalRequest:
    return spb.RegisterSignalRequest(
        pseudonym=pseudonym,
        birth_date=reg.birth_date.isoformat(),
        professional=contact_of(pro, org),
        organisation=profile_of(org),
        informed=informed_pb(reg.informed),
        multi_problem_attested=reg.multi_problem_attested,
        consent_given=reg.consent_given,
        consent_by=convert.CONSENT_BY.get(reg.consent_by, spb.CONSENT_BY_UNSPECIFIED),
        under_guardianship=reg.under_guardianship,
        municipality_code=municipality_code,
        client_reference=reg.client_reference,
        parent_pseudonyms=list(parent_pseudonyms),
    )


def register(body: object) -> spb.Signal:
    """Register a signal for the calling professional: validate, pseudonymise, register."""
    gw = gateway()
    reg = domain.parse_signal_registration(body, gw.today())
    pro, org = caller_and_organisation()
    require_active(org)
    b = gw.backends
    # With a BRP link identity checks the birth date (400 birth_date_mismatch) and says
    # where the person lives; without one the registration stays "unverified" (issue 18).
    person = call(
        b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=reg.bsn, birth_date=reg.birth_date.isoformat())
    )
    signal: spb.Signal = call(
        b.signal.RegisterSignal,
        registration_request(
            reg, person.pseudonym, pro, org, person.municipality_code, person.parent_pseudonyms
        ),
    ).signal
    return signal


def _list_request(
    pid: str, status: str, size: int, token: str, only: list[str] | None = None
) -> spb.ListSignalsRequest:
    return spb.ListSignalsRequest(
        professional_id=pid,
        status=convert.STATUS.get(status, spb.SIGNAL_STATUS_UNSPECIFIED),
        page_size=size,
        page_token=token,
        signal_ids=only or [],
    )


def page(status: str, number: int, size: int) -> tuple[list[spb.Signal], bool]:
    """One page of the caller's signals ('' status: all) and whether there is a next one."""
    b = gateway().backends
    pid = professional_id()
    resp, has_next = page_of(
        lambda t: call(b.signal.ListSignals, _list_request(pid, status, size, t)), number
    )
    return ([] if resp is None else list(resp.signals)), has_next


def all_of(pid: str, status: str, limit: int = 10_000) -> list[spb.Signal]:
    """Every signal of a professional with this status (the portal's lists, statistics)."""
    b = gateway().backends
    return walk(lambda t: call(b.signal.ListSignals, _list_request(pid, status, 100, t)), "signals", limit)


def own_by_id(signal_ids: list[str]) -> dict[str, spb.Signal]:
    """The caller's own signals among these ids (one call; others' ids are left out)."""
    wanted = sorted({i for i in signal_ids if i})
    if not wanted:
        return {}
    b = gateway().backends
    pid = professional_id()
    found = walk(lambda t: call(b.signal.ListSignals, _list_request(pid, "", 100, t, wanted)), "signals")
    return {s.signal_id: s for s in found}


def set_client_reference(signal_id: str, body: object) -> spb.Signal:
    """Set or clear the caller's own reference on their signal (the one 404 otherwise)."""
    reference = domain.parse_client_reference_change(body)
    sig = _on_own(
        gateway().backends.signal.SetClientReference,
        spb.SetClientReferenceRequest,
        signal_id,
        client_reference=reference,
    )
    if sig is None:
        raise signal_not_found()
    return sig


def _on_own(rpc: Any, request_type: Any, signal_id: str, **fields: Any) -> spb.Signal | None:
    """A call about one of the caller's signals; malformed, unknown and not-yours ids all
    become the one 404. The signal afterwards, or None when the back end removed it."""
    if not domain.is_path_id(signal_id):
        raise signal_not_found()
    req = request_type(signal_id=signal_id, professional_id=professional_id(), **fields)
    resp = call(rpc, req, signal_not_found())
    if not resp.HasField("signal") or not resp.signal.signal_id:
        return None
    sig: spb.Signal = resp.signal
    return sig


def own(signal_id: str) -> spb.Signal:
    """The caller's signal, or the one 404 for unknown / not yours / malformed."""
    sig = _on_own(gateway().backends.signal.GetSignal, spb.GetSignalRequest, signal_id)
    if sig is None:
        raise signal_not_found()
    return sig


def renew(
    signal_id: str, *, multi_problem_attested: bool, consent_given: bool, consent_by: str = ""
) -> spb.Signal:
    """Renewal is a new decision: the adult regime's attestation (and consent) are given again,
    never carried over from the registration (issue 12)."""
    sig = _on_own(
        gateway().backends.signal.RenewSignal,
        spb.RenewSignalRequest,
        signal_id,
        multi_problem_attested=multi_problem_attested,
        consent_given=consent_given,
        consent_by=convert.CONSENT_BY.get(consent_by, spb.CONSENT_BY_UNSPECIFIED),
    )
    if sig is None:
        raise signal_not_found()
    return sig


def end(signal_id: str, reason: str) -> spb.Signal | None:
    """End the caller's signal; None when the back end removed it outright."""
    ended: spb.Signal | None = _on_own(
        gateway().backends.signal.EndSignal,
        spb.EndSignalRequest,
        signal_id,
        reason=convert.END_REASON[reason],
    )
    if ended is None:  # unjustified: erased everywhere, so also the replies that name it
        gateway().store.erase_idempotency_replies(signal_id)
    return ended


def involvement(signal_id: str) -> mpb.GetInvolvementResponse:
    """Who else is involved: only through the caller's own signal; the same 404 otherwise."""
    sig = own(signal_id)
    resp: mpb.GetInvolvementResponse = call(
        gateway().backends.match.GetInvolvement,
        mpb.GetInvolvementRequest(pseudonym=sig.pseudonym, professional_id=professional_id(), purpose="api"),
        signal_not_found(),
    )
    return resp


def complete_informing(signal_id: str, body: object) -> spb.Signal:
    """A party whose informing was postponed has been informed after all."""
    done = domain.parse_informing_completed(body, gateway().today())
    sig = _on_own(
        gateway().backends.signal.CompleteInforming,
        spb.CompleteInformingRequest,
        signal_id,
        party=convert.PARTY[done.party],
        method=convert.METHOD[done.method],
        informed_on=done.informed_on.isoformat(),
    )
    if sig is None:
        raise signal_not_found()
    return sig
