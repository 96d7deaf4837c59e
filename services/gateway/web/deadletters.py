"""Portal page of an organisation's undeliverable notifications (dead letters, kept by
notify): what could not be delivered, to which domain or host, and a retry once the address
is fixed (usecases/admin.py)."""

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as Page

from services.gateway.usecases import admin, gateway
from services.gateway.web.blueprint import bp

CHANNELS = {"email": "E-mail", "webhook": "Webhook"}


@bp.get("/beheer/onbestelbaar")
def dead_letters() -> str:
    org = admin.own_organisation()
    names = {str(p.id): p.name for p in gateway().store.professionals(org.id)}
    return render_template(
        "admin_dead_letters.html",
        org=org,
        letters=admin.dead_letters(org),
        names=names,
        channels=CHANNELS,
    )


@bp.post("/beheer/onbestelbaar/<delivery_id>/opnieuw")
def retry_dead_letter(delivery_id: str) -> Page:
    admin.retry_dead_letter(admin.own_organisation(), delivery_id)
    flash("De melding wordt opnieuw verstuurd.")
    return redirect(url_for("web.dead_letters"))
