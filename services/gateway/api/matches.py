"""Matches of the caller, and the coordinator actions."""

from typing import Any

from flask import Blueprint, Response, request
from sluis.match.v1 import match_pb2 as mpb

from services.common.errors import NotFound
from services.gateway import domain
from services.gateway.api import call, convert, gateway, json_body, no_query, ok, professional_id, require_id
from services.gateway.api.signals import _page_of, list_links

bp = Blueprint("matches", __name__)


def match_not_found() -> NotFound:
    return NotFound("match_not_found", "Match niet gevonden.")


def _call(method: Any, req: Any) -> Any:
    """A match call whose NOT_FOUND always reads the same, whatever the cause."""
    return call(method, req, match_not_found())


@bp.get("/matches")
def list_matches() -> Response:
    no_query("page", "pageSize")
    page = domain.parse_page(request.args)
    b = gateway().backends
    pid = professional_id()

    def fetch(token: str) -> mpb.ListMatchesResponse:
        resp: mpb.ListMatchesResponse = b.match.ListMatches(
            mpb.ListMatchesRequest(professional_id=pid, page_size=page.size, page_token=token),
            timeout=b.timeout,
        )
        return resp

    resp, has_next = _page_of(fetch, page)
    matches = [] if resp is None else [convert.match_json(m) for m in resp.matches]
    return ok({"matches": matches, "_links": list_links("/matches", page, has_next)})


@bp.get("/matches/<match_id>")
def get(match_id: str) -> Response:
    no_query()
    require_id(match_id, match_not_found())
    b = gateway().backends
    resp = _call(
        b.match.GetMatch,
        mpb.GetMatchRequest(match_id=match_id, professional_id=professional_id(), purpose="api"),
    )
    return ok(convert.match_json(resp.match))


@bp.post("/matches/<match_id>/coordinator")
def take_coordinator(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    require_id(match_id, match_not_found())
    b = gateway().backends
    resp = _call(
        b.match.TakeCoordinator,
        mpb.TakeCoordinatorRequest(match_id=match_id, professional_id=professional_id()),
    )
    return ok(convert.match_json(resp.match))


@bp.post("/matches/<match_id>/coordinator/hand-over")
def hand_over_coordinator(match_id: str) -> Response:
    no_query()
    to = domain.parse_hand_over(json_body())
    require_id(match_id, match_not_found())
    b = gateway().backends
    resp = _call(
        b.match.HandOverCoordinator,
        mpb.HandOverCoordinatorRequest(
            match_id=match_id, professional_id=professional_id(), to_professional_id=to
        ),
    )
    return ok(convert.match_json(resp.match))


@bp.post("/matches/<match_id>/coordinator/accept")
def accept_coordinator(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    require_id(match_id, match_not_found())
    b = gateway().backends
    resp = _call(
        b.match.AcceptCoordinator,
        mpb.AcceptCoordinatorRequest(match_id=match_id, professional_id=professional_id()),
    )
    return ok(convert.match_json(resp.match))
