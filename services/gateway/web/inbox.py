"""The portal inbox of a professional (usecases/matches.py)."""

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response as Page

from services.gateway import convert
from services.gateway.usecases import matches
from services.gateway.web.blueprint import PAGE_SIZE, bp


@bp.get("/inbox", endpoint="inbox")
def inbox_page() -> str:
    resp, _ = matches.inbox_page(False, 1, PAGE_SIZE)
    items = (
        []
        if resp is None
        else [convert.inbox_item_json(i, ok, own) for i, ok, own in matches.inbox_view(list(resp.items))]
    )
    return render_template("inbox.html", items=items, unread=0 if resp is None else resp.unread_count)


@bp.post("/inbox/<item_id>/gelezen")
def read_item(item_id: str) -> Page:
    matches.read_item(item_id)
    return redirect(url_for("web.inbox"))
