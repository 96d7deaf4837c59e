"""Signals: register, list mine, get, renew, end, and who else is involved (see
usecases/signals.py for what happens)."""

from flask import Blueprint, Response, request

from services.gateway import convert, domain
from services.gateway.api import created, json_body, list_links, no_query, ok
from services.gateway.usecases import signals

bp = Blueprint("signals", __name__)


@bp.post("/signals")
def register() -> Response:
    no_query()
    return created(convert.signal_json(signals.register(json_body())))


@bp.get("/signals")
def list_signals() -> Response:
    no_query("status", "page", "pageSize")
    page = domain.parse_page(request.args)
    status = domain.parse_choice_param(request.args, "status", domain.SIGNAL_STATUSES)
    found, has_next = signals.page(status, page.number, page.size)
    extra = f"&status={status}" if status else ""
    return ok(
        {
            "signals": [convert.signal_json(s) for s in found],
            "_links": list_links("/signals", page, has_next, extra),
        }
    )


@bp.get("/signals/<signal_id>")
def get(signal_id: str) -> Response:
    no_query()
    return ok(convert.signal_json(signals.own(signal_id)))


@bp.patch("/signals/<signal_id>")
def change(signal_id: str) -> Response:
    """The professional's own reference: {"clientReference": "..."} (null or "" clears it)."""
    no_query()
    return ok(convert.signal_json(signals.set_client_reference(signal_id, json_body())))


@bp.post("/signals/<signal_id>/renew")
def renew(signal_id: str) -> Response:
    no_query()
    # Renewal is a new decision: the attestation is given again (the contract checks the types).
    body = json_body(optional=True)
    renewed = signals.renew(
        signal_id,
        multi_problem_attested=body.get("multiProblemAttested", False),
        consent_given=body.get("consentGiven", False),
        consent_by=body.get("consentBy", ""),
    )
    return ok(convert.signal_json(renewed))


@bp.post("/signals/<signal_id>/end")
def end(signal_id: str) -> Response:
    no_query()
    ended = signals.end(signal_id, json_body()["reason"])
    return Response(status=204) if ended is None else ok(convert.signal_json(ended))


@bp.post("/signals/<signal_id>/informed")
def informed(signal_id: str) -> Response:
    """A postponed informing completed: the party, how and when."""
    no_query()
    return ok(convert.signal_json(signals.complete_informing(signal_id, json_body())))


@bp.get("/signals/<signal_id>/involvement")
def involvement(signal_id: str) -> Response:
    """Who else is involved: only through the caller's own signal; the same 404 otherwise."""
    no_query()
    return ok(convert.involvement_json(signals.involvement(signal_id), signal_id))
