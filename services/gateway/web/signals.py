"""Portal pages of a professional's signals: the dashboard, the lists, the registration form,
renew and end (the work is done by usecases/signals.py, exactly as for the REST API)."""

from datetime import timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sluis.signal.v1 import signal_pb2 as spb
from werkzeug.wrappers import Response as Page

from services.common import clientref
from services.common.errors import DomainError, InvalidArgument
from services.common.protos import from_timestamp
from services.gateway import auth, convert
from services.gateway.usecases import gateway, matches, signals
from services.gateway.web.blueprint import PAGE_SIZE, bp, who

LAPSING_SOON = timedelta(days=30)
END_REASONS = {"goalReached": "Doel bereikt", "unjustified": "Ten onrechte gemeld", "other": "Andere reden"}
PARTIES = {
    "person": "De persoon zelf",
    "legalRepresentative": "De wettelijk vertegenwoordiger",
    "both": "Beiden",
}
METHODS = {"inPerson": "In een gesprek", "phone": "Telefonisch", "letter": "Per brief", "email": "Per e-mail"}
POSTPONES = {"safety": "Uitgesteld: veiligheid", "notReachable": "Uitgesteld: niet bereikbaar"}
POSTPONE_FOR = {
    "": "Iedereen die geïnformeerd moet worden",
    "legalRepresentative": "Alleen de wettelijk vertegenwoordiger (de persoon is wel geïnformeerd)",
    "person": "Alleen de persoon zelf (de wettelijk vertegenwoordiger is wel geïnformeerd)",
}
CONSENT_BY = {
    "legalRepresentative": "De wettelijk vertegenwoordiger (ouder, voogd, curator of mentor)",
    "person": "De persoon zelf",
    "both": "Beiden",
}
# The portal shows at most this many signals per list.
LIST_LIMIT = 1000


@bp.get("/")
def dashboard() -> str:
    p = who()
    if p.role != auth.PROFESSIONAL:
        return render_template("admin_home.html")
    active = signals.all_of(str(p.professional_id), "active", LIST_LIMIT)
    found, _ = matches.page(1, PAGE_SIZE, "portal")
    inbox, _ = matches.inbox_page(True, 1, 1)
    return render_template(
        "dashboard.html",
        active=len(active),
        matches=sum(1 for m in found if m.status == matches.OPEN),
        unread=0 if inbox is None else inbox.unread_count,
    )


@bp.get("/signalen", endpoint="signals")
def signals_page() -> str:
    now = gateway().clock.now()
    pid = str(who().professional_id)
    active = signals.all_of(pid, "active", LIST_LIMIT)
    lapsing = [
        s for s in active if (from_timestamp(s.active_until) or now + LAPSING_SOON * 2) - now <= LAPSING_SOON
    ]
    rest = [s for s in active if s not in lapsing]
    return render_template(
        "signals.html",
        active=rest,
        lapsing=lapsing,
        archived=signals.all_of(pid, "archived", LIST_LIMIT),
        end_reasons=END_REASONS,
        methods=METHODS,
        postponed=_postponed_parties,
        today=gateway().today().isoformat(),
        own=convert.own_signal_json,
        consent_by=CONSENT_BY,
        consent_based=_consent_based,
    )


def _signal_view(sig: spb.Signal, status: int = 200, **form: str) -> tuple[str, int]:
    """One own signal: which client (own reference, birth date), its match, the reference form."""
    active = sig.status == spb.SIGNAL_STATUS_ACTIVE
    found, _ = matches.page(1, 1, "portal", sig.signal_id) if active else ([], False)
    page = render_template(
        "signal.html",
        signal=sig,
        active=active,
        own=convert.own_signal_json(sig),
        match=found[0] if found else None,
        max_length=clientref.MAX_LENGTH,
        **form,
    )
    return page, status


@bp.get("/signalen/<signal_id>", endpoint="signal")
def signal_page(signal_id: str) -> tuple[str, int]:
    return _signal_view(signals.own(signal_id))


@bp.post("/signalen/<signal_id>/kenmerk")
def set_reference(signal_id: str) -> Page | tuple[str, int]:
    """Change the own reference (the same call as PATCH /v1/signals/{id})."""
    value = request.form.get(clientref.FIELD, "")
    try:
        signals.set_client_reference(signal_id, {clientref.FIELD: value})
    except InvalidArgument as err:
        return _signal_view(signals.own(signal_id), 400, error=err.detail, value=value)
    flash("Het eigen kenmerk is opgeslagen.")
    return redirect(url_for("web.signal", signal_id=signal_id))


def _consent_based(signal: Any) -> bool:
    """The signal's organisation signals with consent: renewal asks whose consent (issue 22)."""
    return bool(signal.legal_basis == spb.LEGAL_BASIS_CONSENT)


def _postponed_parties(signal: Any) -> dict[str, str]:
    """The parties of a signal whose informing is still postponed, as the portal names them."""
    rec = signal.informed
    out = {}
    if rec.HasField("person") and rec.person.postpone_reason:
        out["person"] = PARTIES["person"]
    if rec.HasField("legal_representative") and rec.legal_representative.postpone_reason:
        out["legalRepresentative"] = PARTIES["legalRepresentative"]
    return out


def _form_body(org_consent: bool) -> dict[str, Any]:
    """The form as the JSON body of POST /v1/signals: one validation for both."""
    f = request.form
    informed: dict[str, Any]
    postponed_only = f.get("postponeFor", "")
    if f.get("postpone") and postponed_only in ("person", "legalRepresentative"):
        # One party postponed, the other informed: e.g. the child informed, the parent not yet.
        informed_party = "person" if postponed_only == "legalRepresentative" else "legalRepresentative"
        informed = {
            postponed_only: {"postponeReason": f.get("postpone", "")},
            informed_party: {"method": f.get("method", ""), "informedOn": f.get("informedOn", "")},
        }
    elif f.get("postpone"):
        informed = {"postponeReason": f.get("postpone", "")}
    else:
        informed = {
            "party": f.get("party", ""),
            "method": f.get("method", ""),
            "informedOn": f.get("informedOn", ""),
        }
    body: dict[str, Any] = {
        "bsn": f.get("bsn", "").strip(),
        "birthDate": f.get("birthDate", ""),
        "informed": informed,
        "multiProblemAttested": f.get("multiProblemAttested") == "ja",
        "underGuardianship": f.get("underGuardianship") == "ja",
        "clientReference": f.get("clientReference", ""),
    }
    if org_consent:
        body["consentGiven"] = f.get("consentGiven") == "ja"
        if f.get("consentBy"):
            body["consentBy"] = f.get("consentBy", "")
    return body


# Which form field a refusal belongs to (the message is shown next to it).
_FIELD_OF = {
    "bsn": "bsn",
    "birthDate": "birthDate",
    "informed": "party",
    "informed.party": "party",
    "informed.method": "method",
    "informed.informedOn": "informedOn",
    "informed.postponeReason": "postpone",
    "informed.person.method": "method",
    "informed.person.informedOn": "informedOn",
    "informed.legalRepresentative.method": "method",
    "informed.legalRepresentative.informedOn": "informedOn",
    "multiProblemAttested": "multiProblemAttested",
    "consentGiven": "consentGiven",
    "consentBy": "consentBy",
    "clientReference": "clientReference",
}
# The API's messages name JSON fields; the form speaks of what the user sees.
_FORM_TEXT = {
    "party": "Kies wie er geïnformeerd is, of kies hieronder waarom informeren is uitgesteld.",
    "method": "Kies hoe er geïnformeerd is.",
    "informedOn": "Vul in wanneer er geïnformeerd is (niet in de toekomst).",
    "postpone": "Kies een geldige reden van uitstel.",
}
_REASON_FIELD = {
    "bsn_format": "bsn",
    "bsn_checksum": "bsn",
    "multi_problem_required": "multiProblemAttested",
    "consent_required": "consentGiven",
    "consent_missing": "consentGiven",
    "consent_wrong_party": "consentBy",
    "consent_by_unknown": "consentBy",
    "guardianship_minor": "underGuardianship",
    "informed_party_wrong_for_age": "party",
    "representative_reason_wrong_for_age": "party",
}


def _signal_form(
    org: Any, errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "signal_new.html",
            org=org,
            errors=errors or {},
            values=values or {},
            parties=PARTIES,
            methods=METHODS,
            postpones=POSTPONES,
            postpone_for=POSTPONE_FOR,
            consent_by=CONSENT_BY,
            today=gateway().today().isoformat(),
        ),
        status,
    )


@bp.get("/signalen/nieuw")
def new_signal() -> tuple[str, int]:
    _pro, org = signals.caller_and_organisation()
    return _signal_form(org)


@bp.post("/signalen/nieuw")
def register_signal() -> Page | tuple[str, int]:
    _pro, org = signals.caller_and_organisation()
    # Every value comes back in the re-rendered form, the BSN too (issue 17), so nobody retypes
    # it; it goes into this one response only: never into a log, the session or a flash.
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        signal = signals.register(_form_body(org.legal_basis == "consent"))
    except DomainError as err:
        by_field = _FIELD_OF.get(err.metadata.get("field", ""), "")
        field = by_field or _REASON_FIELD.get(err.reason, "")
        # A rule of the back end (whose consent, who to inform at this age) says it best itself.
        errors = {field or "_form": _FORM_TEXT.get(field, err.detail) if by_field else err.detail}
        if err.reason == "signal_exists":
            errors = {
                "_form": "U heeft al een actief signaal op deze persoon. U vindt het bij Mijn signalen."
            }
        return _signal_form(org, errors, values, 400)
    flash("Het signaal is geregistreerd.")
    return redirect(url_for("web.signals", _anchor=f"signaal-{signal.signal_id}"))


@bp.post("/signalen/<signal_id>/verlengen")
def renew_signal(signal_id: str) -> Page:
    # Renewal is a new decision: the form asks for the attestation again (issue 12).
    try:
        signals.renew(
            signal_id,
            multi_problem_attested=request.form.get("multiProblemAttested") == "1",
            consent_given=request.form.get("consentGiven") == "1",
            consent_by=request.form.get("consentBy", "")
            if request.form.get("consentBy") in CONSENT_BY
            else "",
        )
    except InvalidArgument as err:  # e.g. 23+ without the attestation: say so on the list
        flash(err.detail)
        return redirect(url_for("web.signals"))
    flash("Het signaal is verlengd.")
    return redirect(url_for("web.signals"))


@bp.post("/signalen/<signal_id>/beeindigen")
def end_signal(signal_id: str) -> Page:
    reason = request.form.get("reason", "")
    if reason not in END_REASONS:
        flash("Kies een reden om het signaal te beëindigen.")
        return redirect(url_for("web.signals"))
    signals.end(signal_id, reason)
    flash("Het signaal is beëindigd.")
    return redirect(url_for("web.signals"))


@bp.post("/signalen/<signal_id>/geinformeerd")
def complete_informing(signal_id: str) -> Page:
    """A postponed informing done after all (the same call as POST /v1/signals/{id}/informed)."""
    f = request.form
    body = {"party": f.get("party", ""), "method": f.get("method", ""), "informedOn": f.get("informedOn", "")}
    try:
        signals.complete_informing(signal_id, body)
    except DomainError as err:
        if err.reason == "signal_not_found":
            raise
        flash(f"Niet vastgelegd: {err.detail}")
        return redirect(url_for("web.signals", _anchor=f"signaal-{signal_id}"))
    flash("Vastgelegd: er is alsnog geïnformeerd.")
    return redirect(url_for("web.signals", _anchor=f"signaal-{signal_id}"))
