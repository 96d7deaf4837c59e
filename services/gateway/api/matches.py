"""Matches of the caller, and the coordinator actions (usecases/matches.py)."""

from flask import Blueprint, Response, request

from services.gateway import convert, domain
from services.gateway.api import json_body, list_links, no_query, ok
from services.gateway.usecases import matches

bp = Blueprint("matches", __name__)


@bp.get("/matches")
def list_matches() -> Response:
    no_query("page", "pageSize")
    page = domain.parse_page(request.args)
    found, has_next = matches.page(page.number, page.size, "api")
    return ok(
        {"matches": [convert.match_json(m) for m in found], "_links": list_links("/matches", page, has_next)}
    )


@bp.get("/matches/<match_id>")
def get(match_id: str) -> Response:
    no_query()
    return ok(convert.match_json(matches.get(match_id, "api")))


@bp.post("/matches/<match_id>/coordinator")
def take_coordinator(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return ok(convert.match_json(matches.take_coordinator(match_id)))


@bp.post("/matches/<match_id>/coordinator/hand-over")
def hand_over_coordinator(match_id: str) -> Response:
    no_query()
    to = json_body()["professionalId"]
    return ok(convert.match_json(matches.hand_over(match_id, to)))


@bp.post("/matches/<match_id>/coordinator/accept")
def accept_coordinator(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return ok(convert.match_json(matches.accept_coordinator(match_id)))
