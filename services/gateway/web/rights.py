"""Portal pages of the region admin's rights-requests register (Rechtenverzoeken): the list
with its deadlines, a request with its actions, and the access document as a printable page.
The work is done by usecases/rights.py, exactly as for the REST API."""

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Page

from services.common.errors import DomainError
from services.gateway import rights
from services.gateway.api.admin import access_json
from services.gateway.usecases import access, gateway
from services.gateway.usecases import rights as usecase
from services.gateway.web.blueprint import bp

KINDS = {"access": "Inzage (art. 15)", "objection": "Bezwaar (art. 21)", "restriction": "Beperking (art. 18)"}
REQUESTERS = {"person": "De persoon zelf", "legalRepresentative": "De wettelijk vertegenwoordiger"}
STATUSES = {
    "received": "Ontvangen",
    "inProgress": "In behandeling",
    "extended": "Verlengd",
    "decided": "Besloten",
}
DECISIONS = {"upheld": "Gegrond", "rejected": "Ongegrond"}
NEW_FIELDS = ("kind", "requester", "caseReference", "receivedOn")


def _labels() -> dict[str, Any]:
    return {"kinds": KINDS, "requesters": REQUESTERS, "statuses": STATUSES, "decisions": DECISIONS}


def _form_errors(err: DomainError) -> dict[str, str]:
    return {err.metadata.get("field", "_form") or "_form": err.detail}


def _list_page(values: dict[str, str], errors: dict[str, str]) -> str:
    status = request.args.get("status", "")
    overdue = request.args.get("overdue") == "true"
    found, _ = usecase.requests(status if status in STATUSES else "", True if overdue else None)
    return render_template(
        "rights_requests.html",
        requests=found,
        today=gateway().today(),
        status=status,
        overdue=overdue,
        values=values,
        errors=errors,
        **_labels(),
    )


@bp.get("/beheer/rechtenverzoeken")
def rights_requests() -> str:
    return _list_page({}, {})


@bp.post("/beheer/rechtenverzoeken")
def new_rights_request() -> Page | tuple[str, int]:
    values = {k: request.form.get(k, "").strip() for k in NEW_FIELDS}
    body: dict[str, Any] = {k: v for k, v in values.items() if v or k == "caseReference"}
    body["bsn"] = request.form.get("bsn", "").strip()
    try:
        req = usecase.create(rights.parse_new_request(body, gateway().today()))
    except DomainError as err:
        return _list_page(values, _form_errors(err)), 400
    flash("Het verzoek is geregistreerd.")
    return redirect(url_for("web.rights_request", request_id=req.id))


def _detail(req: rights.RightsRequest, errors: dict[str, str]) -> str:
    return render_template(
        "rights_request.html", req=req, today=gateway().today(), errors=errors, **_labels()
    )


@bp.get("/beheer/rechtenverzoeken/<request_id>")
def rights_request(request_id: str) -> str:
    return _detail(usecase.request(request_id), {})


def _document_page(req: rights.RightsRequest, report: access.AccessReport) -> str:
    return render_template("rights_access_document.html", req=req, doc=access_json(report), **_labels())


@bp.post("/beheer/rechtenverzoeken/<request_id>/<action>")
def rights_request_action(request_id: str, action: str) -> Page | str | tuple[str, int]:
    req = usecase.request(request_id)
    form = request.form
    try:
        if action == "in-behandeling":
            usecase.start(req.id)
            flash("Het verzoek is in behandeling genomen.")
        elif action == "verlengen":
            months = form.get("months", "")
            ext = rights.parse_extension(
                {"months": int(months) if months in ("1", "2") else 0, "reason": form.get("reason", "")}
            )
            usecase.extend(req.id, ext)
            flash("De termijn is verlengd.")
        elif action in ("beperken", "beperking-opheffen"):
            usecase.set_restriction(req.id, action == "beperken")
            flash("De verwerking is beperkt." if action == "beperken" else "De beperking is opgeheven.")
        elif action == "besluiten":
            body = {
                k: form.get(k, "").strip() for k in ("decision", "reason", "bsn") if form.get(k, "").strip()
            }
            if req.kind != "access":
                body.pop("bsn", None)
            decided, report = usecase.decide(req.id, rights.parse_decision(body, req.kind))
            if report is not None:
                return _document_page(decided, report)
            flash("Het besluit is vastgelegd.")
        else:
            return _detail(req, {"_form": "Onbekende handeling."}), 400
    except DomainError as err:
        return _detail(usecase.request(req.id), _form_errors(err)), 400
    return redirect(url_for("web.rights_request", request_id=req.id))


@bp.route("/beheer/rechtenverzoeken/<request_id>/inzagedocument", methods=["GET", "POST"])
def rights_access_document(request_id: str) -> str | tuple[str, int]:
    """The access document as a printable page: the BSN is asked again (never stored)."""
    req = usecase.request(request_id)
    if req.kind != "access":
        raise usecase.not_found()
    if request.method == "POST":
        try:
            return _document_page(req, usecase.access_document(req.id, request.form.get("bsn", "").strip()))
        except DomainError as err:
            return render_template("rights_bsn.html", req=req, errors=_form_errors(err), **_labels()), 400
    return render_template("rights_bsn.html", req=req, errors={}, **_labels())
