"""Matches of the caller, and the coordinator actions (usecases/matches.py)."""

from flask import Blueprint, Response, request
from sluis.match.v1 import match_pb2 as mpb

from services.gateway import convert, domain
from services.gateway.api import json_body, list_links, no_query, ok
from services.gateway.usecases import matches

bp = Blueprint("matches", __name__)


@bp.get("/matches")
def list_matches() -> Response:
    no_query("page", "pageSize", "signalId")
    page = domain.parse_page(request.args)
    signal_id = request.args.get("signalId", "")
    found, has_next = matches.page(page.number, page.size, "api", signal_id)
    own = matches.own_signals(found)
    extra = f"&signalId={signal_id}" if signal_id else ""
    return ok(
        {
            "matches": [convert.match_json(m, own.get(m.match_id)) for m in found],
            "_links": list_links("/matches", page, has_next, extra),
        }
    )


def _with_own(match: mpb.Match) -> Response:
    return ok(convert.match_json(match, matches.own_signal(match)))


@bp.get("/matches/<match_id>")
def get(match_id: str) -> Response:
    no_query()
    return _with_own(matches.get(match_id, "api"))


@bp.post("/matches/<match_id>/coordinator")
def take_coordinator(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return _with_own(matches.take_coordinator(match_id))


@bp.post("/matches/<match_id>/coordinator/hand-over")
def hand_over_coordinator(match_id: str) -> Response:
    no_query()
    to = json_body()["professionalId"]
    return _with_own(matches.hand_over(match_id, to))


@bp.post("/matches/<match_id>/coordinator/accept")
def accept_coordinator(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return _with_own(matches.accept_coordinator(match_id))


# -- coordination by agreement (issue 17) ------------------------------------------------------


@bp.post("/matches/<match_id>/coordinator/decline")
def decline_coordinator(match_id: str) -> Response:
    """A proposed hand-over or a succession offer, declined by the member it was offered to."""
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return _with_own(matches.decline_coordinator(match_id))


@bp.post("/matches/<match_id>/coordinator/takeover/accept")
def accept_takeover(match_id: str) -> Response:
    """The sitting coordinator lets the member who asked take over the role."""
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return _with_own(matches.respond_takeover(match_id, accept=True))


@bp.post("/matches/<match_id>/coordinator/takeover/decline")
def decline_takeover(match_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return _with_own(matches.respond_takeover(match_id, accept=False))
