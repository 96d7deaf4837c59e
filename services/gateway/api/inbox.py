"""The caller's inbox (notifications kept by the notify service)."""

import grpc
from flask import Blueprint, Response, request
from sluis.notify.v1 import notify_pb2 as npb

from services.common.errors import NotFound, from_rpc_error
from services.gateway import domain
from services.gateway.api import convert, gateway, json_body, no_query, ok, professional_id, require_id
from services.gateway.api.signals import _page_of, list_links

bp = Blueprint("inbox", __name__)


def item_not_found() -> NotFound:
    return NotFound("inbox_item_not_found", "Bericht niet gevonden.")


@bp.get("/inbox")
def list_items() -> Response:
    no_query("unreadOnly", "page", "pageSize")
    page = domain.parse_page(request.args)
    unread_only = domain.parse_bool_param(request.args, "unreadOnly")
    b = gateway().backends
    pid = professional_id()

    def fetch(token: str) -> npb.ListInboxResponse:
        resp: npb.ListInboxResponse = b.notify.ListInbox(
            npb.ListInboxRequest(
                professional_id=pid, unread_only=unread_only, page_size=page.size, page_token=token
            ),
            timeout=b.timeout,
        )
        return resp

    resp, has_next = _page_of(fetch, page)
    items = [] if resp is None else [convert.inbox_item_json(i) for i in resp.items]
    unread = 0 if resp is None else resp.unread_count
    extra = "&unreadOnly=true" if unread_only else ""
    return ok({"items": items, "unreadCount": unread, "_links": list_links("/inbox", page, has_next, extra)})


@bp.post("/inbox/<item_id>/read")
def read(item_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    require_id(item_id, item_not_found())
    b = gateway().backends
    try:
        resp = b.notify.MarkInboxItemRead(
            npb.MarkInboxItemReadRequest(professional_id=professional_id(), item_id=item_id),
            timeout=b.timeout,
        )
    except grpc.RpcError as exc:
        err = from_rpc_error(exc)
        if isinstance(err, NotFound):
            raise item_not_found() from None
        raise err from None
    return ok(convert.inbox_item_json(resp.item))
