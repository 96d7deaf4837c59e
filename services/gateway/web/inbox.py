"""The portal inbox of a professional (usecases/matches.py)."""

from flask import flash, redirect, render_template, request, url_for
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


@bp.get("/instellingen", endpoint="settings")
def settings_page() -> str:
    return render_template("settings.html", digest=matches.digest())


@bp.post("/instellingen")
def save_settings() -> Page:
    choice = request.form.get("digest", "")
    if choice not in matches.DIGESTS.values():
        flash("Kies hoe u e-mail over meldingen wilt ontvangen.")
        return redirect(url_for("web.settings"))
    matches.set_digest(choice)
    flash("Uw instelling is opgeslagen.")
    return redirect(url_for("web.settings"))
