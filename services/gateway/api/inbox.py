"""The caller's inbox (notifications kept by the notify service; usecases/matches.py)."""

from flask import Blueprint, Response, request

from services.gateway import convert, domain
from services.gateway.api import json_body, list_links, no_query, ok
from services.gateway.usecases import matches

bp = Blueprint("inbox", __name__)


@bp.get("/inbox")
def list_items() -> Response:
    no_query("unreadOnly", "page", "pageSize")
    page = domain.parse_page(request.args)
    unread_only = domain.parse_bool_param(request.args, "unreadOnly")
    resp, has_next = matches.inbox_page(unread_only, page.number, page.size)
    items = (
        []
        if resp is None
        else [convert.inbox_item_json(i, ok, own) for i, ok, own in matches.inbox_view(list(resp.items))]
    )
    unread = 0 if resp is None else resp.unread_count
    extra = "&unreadOnly=true" if unread_only else ""
    return ok({"items": items, "unreadCount": unread, "_links": list_links("/inbox", page, has_next, extra)})


@bp.post("/inbox/<item_id>/read")
def read(item_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    ((item, available, own),) = matches.inbox_view([matches.read_item(item_id)])
    return ok(convert.inbox_item_json(item, available, own))


@bp.get("/notification-preferences")
def get_preferences() -> Response:
    no_query()
    return ok({"digest": matches.digest()})


@bp.put("/notification-preferences")
def set_preferences() -> Response:
    """Immediate mails or one daily digest (the inbox is always immediate)."""
    no_query()
    body = domain.expect_object(json_body(), "", ("digest",))
    choice = domain.expect_choice(body.get("digest"), "digest", tuple(matches.DIGESTS.values()))
    return ok({"digest": matches.set_digest(choice)})
