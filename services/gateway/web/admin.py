"""Portal pages of an organisation admin: professionals (invite, transfer or end the signals of
one who leaves, deactivate, reset login),
the organisation and its API keys (usecases/admin.py, exactly as for the REST API)."""

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Page

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.gateway import convert, domain
from services.gateway.usecases import admin, gateway, reviews
from services.gateway.web.blueprint import bp, redirect_with_secret

# A new key from the portal keeps working this long after a rotation.
ROTATION_GRACE_SECONDS = 86400


def _professionals_page(values: dict[str, str], errors: dict[str, str]) -> str:
    org = admin.own_organisation()
    store = gateway().store
    pros = store.professionals(org.id)
    return render_template(
        "admin_professionals.html",
        org=org,
        professionals=pros,
        invitations=store.invitations_of("professional", [p.id for p in pros]),
        now=gateway().clock.now(),
        values=values,
        errors=errors,
    )


@bp.get("/beheer/professionals")
def professionals() -> str:
    return _professionals_page({}, {})


@bp.post("/beheer/professionals")
def invite_professional() -> Page | tuple[str, int]:
    org = admin.own_organisation()
    body = {k: request.form.get(k, "").strip() for k in ("name", "role", "phone", "email")}
    try:
        pro, _ = admin.create_professional(org, domain.parse_professional(body, partial=False))
    except DomainError as err:
        errors = {err.metadata.get("field", "_form") or "_form": err.detail}
        return _professionals_page(body, errors), 400
    flash(f"{pro.name} is uitgenodigd: de uitnodiging is gemaild naar {pro.email}.")
    return redirect(url_for("web.professionals"))


@bp.post("/beheer/professionals/<professional_id>/deactiveren")
def deactivate_professional(professional_id: str) -> Page:
    try:
        pro = admin.update_professional(
            admin.own_organisation(), professional_id, {"active": False}, "professional.deactivate"
        )
    except FailedPrecondition as err:  # active signals: transfer or end them first (issue 12)
        flash(err.detail)
        return redirect(url_for("web.professionals"))
    flash(f"{pro.name} is gedeactiveerd.")
    return redirect(url_for("web.professionals"))


@bp.post("/beheer/professionals/<professional_id>/overdragen")
def transfer_signals(professional_id: str) -> Page:
    """A professional who leaves: their active signals to a chosen colleague (issue 12)."""
    org = admin.own_organisation()
    try:
        resp = admin.transfer_signals(org, professional_id, request.form.get("toProfessionalId", "").strip())
    except InvalidArgument as err:
        flash(err.detail)
        return redirect(url_for("web.professionals"))
    flash(f"{resp.transferred} signaal/signalen overgedragen, {resp.ended} beëindigd.")
    return redirect(url_for("web.professionals"))


@bp.post("/beheer/professionals/<professional_id>/signalen-beeindigen")
def end_signals_of(professional_id: str) -> Page:
    """A professional who leaves without a colleague to take over: end every active signal."""
    ended = admin.end_signals_of(admin.own_organisation(), professional_id)
    flash(f"{ended} signaal/signalen beëindigd.")
    return redirect(url_for("web.professionals"))


@bp.post("/beheer/professionals/<professional_id>/tweede-factor")
def reset_second_factor(professional_id: str) -> Page:
    pro, _ = admin.reset_login(admin.own_organisation(), professional_id)
    flash(
        f"De inloggegevens van {pro.name} zijn ingetrokken; een link om ze opnieuw in te stellen is gemaild."
    )
    return redirect(url_for("web.professionals"))


@bp.get("/beheer/organisatie")
def organisation() -> str:
    return render_template("admin_organisation.html", org=admin.own_organisation())


@bp.get("/beheer/sleutels")
def credentials() -> str:
    org = admin.own_organisation()
    return render_template(
        "admin_keys.html", org=org, credentials=gateway().store.credentials(org.id), now=gateway().clock.now()
    )


@bp.post("/beheer/sleutels")
def create_credential() -> Page:
    name = request.form.get("name", "").strip()[:100] or "koppeling"
    scopes = [s for s in domain.CREDENTIAL_SCOPES if request.form.get(f"scope-{s}") == "ja"] or ["signals"]
    cred, key = admin.create_credential(admin.own_organisation(), name, scopes)
    return redirect_with_secret("web.credentials", {"kind": "key", "name": cred.name, "apiKey": key})


@bp.post("/beheer/sleutels/<credential_id>/roteren")
def rotate_credential(credential_id: str) -> Page:
    new, key = admin.rotate_credential(admin.own_organisation(), credential_id, ROTATION_GRACE_SECONDS)
    return redirect_with_secret("web.credentials", {"kind": "key", "name": new.name, "apiKey": key})


@bp.post("/beheer/sleutels/<credential_id>/intrekken")
def revoke_credential(credential_id: str) -> Page:
    admin.revoke_credential(admin.own_organisation(), credential_id)
    flash("De sleutel is ingetrokken.")
    return redirect(url_for("web.credentials"))


# -- review after a change of legal basis (issue 22) -------------------------------------------


@bp.get("/beheer/signalen-herzien")
def signal_reviews() -> str:
    org = admin.own_organisation()
    return render_template(
        "admin_signal_reviews.html", reviews=[convert.signal_review_json(r) for r in reviews.for_review(org)]
    )


@bp.post("/beheer/signalen-herzien/<signal_id>")
def review_signal(signal_id: str) -> Page:
    decision = request.form.get("decision", "")
    if decision not in ("confirm", "end") or not domain.is_path_id(signal_id):
        flash("Kies of het signaal blijft of wordt beëindigd.")
        return redirect(url_for("web.signal_reviews"))
    reviews.review(admin.own_organisation(), signal_id, confirm=decision == "confirm")
    flash("Het signaal blijft actief." if decision == "confirm" else "Het signaal is beëindigd.")
    return redirect(url_for("web.signal_reviews"))
