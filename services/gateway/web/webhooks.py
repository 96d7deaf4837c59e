"""Portal pages of an organisation's webhooks (kept by notify; usecases/admin.py)."""

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Page

from services.common.errors import InvalidArgument
from services.gateway.usecases import admin
from services.gateway.web.blueprint import bp

# Event kinds a webhook can subscribe to (none chosen = all).
WEBHOOK_KINDS = {
    "match_created": "Nieuwe match",
    "member_joined": "Nieuwe betrokkene bij een match",
    "member_left": "Betrokkene uit een match",
    "match_closed": "Match gesloten",
    "coordinator_changed": "Andere matchregisseur",
    "handover_requested": "Regie aangeboden",
    "signal_lapsing": "Signaal verloopt binnenkort",
    "signal_archived": "Signaal gearchiveerd",
    "signal_aging_out": "Signaal eindigt binnenkort (23 jaar)",
    "signal_aged_out": "Signaal beëindigd (23 jaar)",
    "signal_deceased": "Signaal beëindigd (overlijden)",
    "informing_postponed": "Informeren nog uitgesteld",
}


@bp.get("/beheer/webhooks")
def webhooks() -> str:
    org = admin.own_organisation()
    return render_template("admin_webhooks.html", org=org, webhooks=admin.webhooks(org), kinds=WEBHOOK_KINDS)


@bp.post("/beheer/webhooks")
def add_webhook() -> Page:
    kinds = [k for k in WEBHOOK_KINDS if request.form.get(f"kind-{k}") == "ja"]
    try:
        admin.set_webhook(
            admin.own_organisation(),
            request.form.get("url", "").strip(),
            request.form.get("secret", ""),
            kinds,
        )
    except InvalidArgument as err:
        flash(err.detail)
        return redirect(url_for("web.webhooks"))
    flash("De webhook is opgeslagen.")
    return redirect(url_for("web.webhooks"))


@bp.post("/beheer/webhooks/<webhook_id>/verwijderen")
def delete_webhook(webhook_id: str) -> Page:
    admin.delete_webhook(admin.own_organisation(), webhook_id)
    flash("De webhook is verwijderd.")
    return redirect(url_for("web.webhooks"))
