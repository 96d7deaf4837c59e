"""The rights-requests register over REST (region admins): access requests, objections and
restrictions of processing with their deadlines, status and decision. What happens is in
usecases/rights.py; the rules in gateway/rights.py."""

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from services.gateway import domain, rights
from services.gateway.api import created, json_body, list_links, no_query, ok
from services.gateway.api.admin import access_json
from services.gateway.convert import href
from services.gateway.rights import RightsRequest
from services.gateway.usecases import gateway
from services.gateway.usecases import rights as usecase

bp = Blueprint("rights", __name__)

PATH = "/rights-requests"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_json(req: RightsRequest) -> dict[str, Any]:
    path = f"{PATH}/{req.id}"
    links = {"self": href(path)}
    if not req.decided:
        links |= {
            "start": href(path + "/start"),
            "extend": href(path + "/extend"),
            "decide": href(path + "/decide"),
            "restriction": href(path + "/restriction"),
        }
    if req.kind == "access":
        links["accessDocument"] = href(path + "/access-document")
    return {
        "id": req.id,
        "kind": req.kind,
        "requester": req.requester,
        "caseReference": req.case_reference,
        "receivedOn": req.received_on.isoformat(),
        "originalDeadline": req.original_deadline.isoformat(),
        "deadline": req.deadline.isoformat(),
        "extension": (
            {"months": req.extension_months, "reason": req.extension_reason} if req.extension_months else None
        ),
        "status": req.status,
        "overdue": req.overdue(gateway().today()),
        "decision": (
            {"decision": req.decision, "reason": req.decision_reason, "decidedAt": _iso(req.decided_at)}
            if req.decided
            else None
        ),
        "restriction": {"restricted": req.restricted, "since": _iso(req.restricted_at)},
        "signalIds": list(req.signal_ids),
        "objectionIds": list(req.objection_ids),
        "createdAt": _iso(req.created_at),
        "_links": links,
    }


@bp.post(PATH)
def create() -> Response:
    no_query()
    new = rights.parse_new_request(json_body(), gateway().today())
    return created(request_json(usecase.create(new)))


@bp.get(PATH)
def list_requests() -> Response:
    no_query("status", "overdue", "kind", "page", "pageSize")
    status, overdue, kind = rights.parse_filters(request.args)
    page = domain.parse_page(request.args)
    found, has_next = usecase.requests(status, overdue, kind, page)
    extra = "".join(f"&{k}={request.args[k]}" for k in ("status", "overdue", "kind") if k in request.args)
    return ok(
        {
            "rightsRequests": [request_json(r) for r in found],
            "_links": list_links(PATH, page, has_next, extra),
        }
    )


@bp.get(PATH + "/<rights_request_id>")
def get(rights_request_id: str) -> Response:
    no_query()
    return ok(request_json(usecase.request(rights_request_id)))


@bp.post(PATH + "/<rights_request_id>/start")
def start(rights_request_id: str) -> Response:
    no_query()
    usecase.request(rights_request_id)
    domain.expect_object(json_body(optional=True), "", ())
    return ok(request_json(usecase.start(rights_request_id)))


@bp.post(PATH + "/<rights_request_id>/extend")
def extend(rights_request_id: str) -> Response:
    no_query()
    usecase.request(rights_request_id)  # an unknown request is a 404, not a 400
    return ok(request_json(usecase.extend(rights_request_id, rights.parse_extension(json_body()))))


@bp.post(PATH + "/<rights_request_id>/decide")
def decide(rights_request_id: str) -> Response:
    no_query()
    kind = usecase.request(rights_request_id).kind
    req, report = usecase.decide(rights_request_id, rights.parse_decision(json_body(), kind))
    doc = request_json(req)
    if report is not None:
        doc["accessDocument"] = access_json(report)
    return ok(doc)


@bp.put(PATH + "/<rights_request_id>/restriction")
def restrict(rights_request_id: str) -> Response:
    no_query()
    usecase.request(rights_request_id)
    domain.expect_object(json_body(optional=True), "", ())
    return ok(request_json(usecase.set_restriction(rights_request_id, True)))


@bp.delete(PATH + "/<rights_request_id>/restriction")
def lift_restriction(rights_request_id: str) -> Response:
    no_query()
    return ok(request_json(usecase.set_restriction(rights_request_id, False)))


@bp.post(PATH + "/<rights_request_id>/access-document")
def access_document(rights_request_id: str) -> Response:
    """The access document of an access request again (the BSN re-entered, never stored)."""
    no_query()
    usecase.request(rights_request_id)
    body = domain.expect_object(json_body(), "", ("bsn",))
    return ok(
        access_json(
            usecase.access_document(rights_request_id, domain.expect_str(body["bsn"], "bsn", max_len=9))
        )
    )
