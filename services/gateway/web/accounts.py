"""Portal pages of accounts (issue 16): accepting an invitation or reset link (password, TOTP
by QR code, recovery codes), confirming a new e-mail address, and "Mijn account"
(self-service password, e-mail and phone). The rules are in usecases/accounts.py."""

import segno
from flask import flash, redirect, render_template, request, session, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as Page

from services.common.errors import InvalidArgument, NotFound
from services.gateway import auth, domain, totp
from services.gateway.accounts import MIN_PASSWORD_LENGTH
from services.gateway.usecases import accounts, gateway
from services.gateway.web.blueprint import bp, who


def _qr(secret: str, account: str) -> Markup:
    """The otpauth:// URI as an inline SVG QR code (no image request: the CSP stays strict)."""
    uri = totp.provisioning_uri(secret, account)
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, title="QR-code voor uw authenticator-app", svgid="qr"
    )
    return Markup(svg)  # noqa: S704 - segno's own SVG, no user text in it but the escaped title


def _invalid_link() -> tuple[str, int]:
    return render_template("invitation.html", invalid=True, error=accounts.link_invalid().detail), 404


def _enrolment_secret(invitation_id: str) -> str:
    """One TOTP secret per link while the page is open (kept in the signed session cookie)."""
    enrol = session.get("enrol")
    if isinstance(enrol, dict) and enrol.get("for") == invitation_id and isinstance(enrol.get("secret"), str):
        return str(enrol["secret"])
    secret = totp.new_secret()
    session["enrol"] = {"for": invitation_id, "secret": secret}
    return secret


def _invitation_page(token: str, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    try:
        inv = accounts.open_link(token)
    except NotFound:
        return _invalid_link()
    secret = _enrolment_secret(str(inv.id))
    return render_template(
        "invitation.html",
        invalid=False,
        invitation=inv,
        name=accounts.person_name(inv.kind, inv.subject_id),
        qr=_qr(secret, inv.email),
        secret=secret,
        errors=errors,
        min_length=MIN_PASSWORD_LENGTH,
    ), status


@bp.get("/uitnodiging/<token>")
def invitation(token: str) -> tuple[str, int]:
    return _invitation_page(token, {})


@bp.post("/uitnodiging/<token>")
def accept_invitation(token: str) -> tuple[str, int]:
    enrol = session.get("enrol")
    secret = str(enrol.get("secret", "")) if isinstance(enrol, dict) else ""
    try:
        codes = accounts.accept(
            token,
            request.form.get("password", ""),
            request.form.get("password2", ""),
            secret,
            request.form.get("code", ""),
        )
    except NotFound:
        return _invalid_link()
    except InvalidArgument as err:
        return _invitation_page(token, {err.metadata.get("field", "") or "_form": err.detail}, 400)
    session.clear()  # whoever was logged in here is not the new account
    return render_template("invitation_done.html", codes=codes), 200


@bp.get("/account/e-mail/<token>")
def confirm_email(token: str) -> tuple[str, int]:
    try:
        accounts.confirm_email(token)
    except NotFound:
        return render_template("email_confirmed.html", ok=False, error=accounts.link_invalid().detail), 404
    return render_template("email_confirmed.html", ok=True), 200


# -- Mijn account ---------------------------------------------------------------------------


def _subject() -> tuple[str, object]:
    p = who()
    if p.professional_id is not None:
        return "professional", p.professional_id
    return "admin", p.admin_id


def _account_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    store = gateway().store
    kind, subject = _subject()
    pro = store.professional(str(subject)) if kind == "professional" else None
    account = store.web_account_of(kind, str(subject))
    return render_template(
        "account.html",
        email=account.email if account else "",
        phone=pro.phone if pro else None,
        errors=errors,
        min_length=MIN_PASSWORD_LENGTH,
    ), status


@bp.get("/account")
def account() -> tuple[str, int]:
    return _account_page({})


@bp.post("/account/wachtwoord")
def change_password() -> Page | tuple[str, int]:
    kind, subject = _subject()
    try:
        accounts.change_password(
            kind,
            subject,  # type: ignore[arg-type]
            request.form.get("current", ""),
            request.form.get("password", ""),
            request.form.get("password2", ""),
            str(session.get("sid", "")),
        )
    except InvalidArgument as err:
        return _account_page({err.metadata.get("field", "") or "_form": err.detail}, 400)
    flash("Uw wachtwoord is gewijzigd. Andere sessies zijn beëindigd; u krijgt een bevestiging per e-mail.")
    return redirect(url_for("web.account"))


@bp.post("/account/e-mail")
def change_email() -> Page | tuple[str, int]:
    kind, subject = _subject()
    try:
        accounts.request_email_change(kind, subject, request.form.get("email", ""))  # type: ignore[arg-type]
    except InvalidArgument as err:
        return _account_page({"email": err.detail}, 400)
    flash("Als dit adres gebruikt kan worden, is er een bevestigingslink naartoe gemaild.")
    return redirect(url_for("web.account"))


@bp.post("/account/telefoon")
def change_phone() -> Page | tuple[str, int]:
    p = who()
    if p.role != auth.PROFESSIONAL or p.professional_id is None:
        return redirect(url_for("web.account"))
    phone = request.form.get("phone", "").strip()
    if phone and not domain.looks_like_phone(phone):
        return _account_page({"phone": "Vul een telefoonnummer in (cijfers, spaties, +, - en haakjes)."}, 400)
    pro = gateway().store.professional(p.professional_id)
    assert pro is not None
    accounts.change_phone(pro, phone)
    flash("Uw telefoonnummer is gewijzigd.")
    return redirect(url_for("web.account"))
