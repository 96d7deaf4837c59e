"""Portal login (password, then TOTP), sessions, CSRF and logout.

Sessions are Flask's signed cookie; CSRF tokens are Flask-WTF's (checked for every portal
POST by `guard`, which the app's one before-request hook runs for `web.*` endpoints).
"""

import hashlib
import secrets
from datetime import timedelta

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response as Page

from services.gateway import auth, domain, totp
from services.gateway.usecases import accounts, gateway
from services.gateway.web.blueprint import bp

csrf = CSRFProtect()

IDLE_TIMEOUT = timedelta(minutes=15)
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
# A password must be followed by the second factor within this time.
PENDING_SECONDS = 300
# Compared against when the e-mail is unknown, so timing does not tell which accounts exist.
_DUMMY_HASH = generate_password_hash("sluis-no-such-account")
LOGIN_FAILED = "Inloggen is niet gelukt. Controleer uw e-mailadres, wachtwoord en code."
LOCKED = "Te veel mislukte pogingen. Dit account is 15 minuten geblokkeerd."
# Failed logins from one source address (any accounts) before it is refused for LOCK_SECONDS.
SOURCE_MAX_FAILURES = 20


class LoginRequired(Exception):
    """No (live) portal session: the error handler sends the browser to the login page."""


def _now() -> float:
    return gateway().clock.now().timestamp()


def session_principal() -> auth.Principal | None:
    """The logged-in person, or None (also after 15 minutes idle or when deactivated)."""
    uid = session.get("uid")
    if not isinstance(uid, str):
        return None
    now = _now()
    if now - float(session.get("seen", 0)) > IDLE_TIMEOUT.total_seconds():
        session.clear()
        session["expired"] = True
        return None
    gw = gateway()
    sid = session.get("sid")
    if not isinstance(sid, str) or not gw.store.web_session_live(sid):
        # Logged out (here or everywhere), or the password or TOTP was reset since.
        session.clear()
        return None
    session["seen"] = now
    region = gw.settings.region
    if session.get("kind") == "professional":
        pro = gw.store.professional(uid)
        if pro is None or not pro.active:
            session.clear()
            return None
        return auth.Principal(auth.PROFESSIONAL, pro.id, region, pro.organisation_id, pro.id, portal=True)
    admin = gw.store.admin(uid)
    if admin is None or admin.region != region:
        session.clear()
        return None
    return auth.Principal(admin.role, admin.id, region, admin.organisation_id, None, admin.id, portal=True)


def guard(endpoint: str) -> None:
    """Run for every web endpoint by the app's one before-request hook."""
    g.principal = session_principal()
    if request.method == "POST":
        csrf.protect()
    if auth.is_public(endpoint):
        return
    if g.principal is None:
        raise LoginRequired()
    auth.authorise(endpoint, g.principal)


@bp.get("/inloggen")
def login() -> str:
    return render_template(
        "login.html",
        step="password",
        expired=session.pop("expired", False),
        next=domain.safe_next(request.args.get("next")),
    )


def _throttle_key(kind: str, value: str) -> bytes:
    return hashlib.sha256(f"{kind}:{value}".encode()).digest()


def _source_key() -> bytes:
    """The caller's address (the client's, behind trusted proxies: see SLUIS_TRUSTED_PROXIES)."""
    return _throttle_key("source", request.remote_addr or "")


def _failed(step: str, status: int = 401, error: str = LOGIN_FAILED) -> tuple[str, int]:
    """Count a failure against the source address and answer."""
    gateway().store.login_throttle_failed(_source_key(), SOURCE_MAX_FAILURES, LOCK_SECONDS)
    next_path = domain.safe_next(request.form.get("next"))
    return render_template("login.html", step=step, error=error, next=next_path), status


@bp.post("/inloggen")
def login_password() -> Page | tuple[str, int]:
    gw = gateway()
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    if gw.store.login_throttled(_source_key()):
        return render_template("login.html", step="password", error=LOCKED), 429
    account = gw.store.web_account(email) if email else None
    now = gw.clock.now()
    if account is None:
        # Unknown accounts answer exactly like known ones, lock-out included.
        check_password_hash(_DUMMY_HASH, password)
        unknown = _throttle_key("email", email)
        if gw.store.login_throttled(unknown):
            return render_template("login.html", step="password", error=LOCKED), 429
        gw.store.login_throttle_failed(unknown, MAX_FAILURES, LOCK_SECONDS)
        return _failed("password")
    if account.locked(now):
        return render_template("login.html", step="password", error=LOCKED), 429
    if not check_password_hash(account.password_hash, password):
        gw.store.web_login_failed(account.email, MAX_FAILURES, LOCK_SECONDS)
        return _failed("password")
    # New session for the second step: nothing from before the password survives.
    session.clear()
    session["pending"] = account.email
    session["pending_at"] = now.timestamp()
    if next_path := domain.safe_next(request.form.get("next")):
        session["pending_next"] = next_path
    return redirect(url_for("web.login_code"))


@bp.get("/inloggen/code")
def login_code() -> Page | str:
    if not isinstance(session.get("pending"), str):
        return redirect(url_for("web.login"))
    return render_template("login.html", step="code")


@bp.post("/inloggen/code")
def login_code_check() -> Page | tuple[str, int]:
    gw = gateway()
    now = gw.clock.now()
    email = session.get("pending")
    if not isinstance(email, str) or now.timestamp() - float(session.get("pending_at", 0)) > PENDING_SECONDS:
        session.clear()
        return redirect(url_for("web.login"))
    account = gw.store.web_account(email)
    if account is None:
        session.clear()
        return redirect(url_for("web.login"))
    if account.locked(now):
        session.clear()
        return render_template("login.html", step="password", error=LOCKED), 429
    if "recovery" in request.form:
        # A lost authenticator: one of the recovery codes shown at enrolment, each once.
        passed = accounts.use_recovery_code(
            account.kind, account.subject_id, account.email, request.form.get("recovery", "")
        )
    else:
        step = totp.matching_step(
            account.totp_secret, request.form.get("code", ""), now.timestamp(), account.totp_last_step
        )
        passed = step is not None and gw.store.web_login_succeeded(account.email, step)
    if not passed:
        gw.store.web_login_failed(account.email, MAX_FAILURES, LOCK_SECONDS)
        return _failed("code")
    next_path = domain.safe_next(session.get("pending_next"))
    # Session fixation: a fresh session (and so a new CSRF token) at the moment of login,
    # recorded on the server so that logging out ends it for every copy of the cookie.
    session.clear()
    sid = secrets.token_urlsafe(32)
    gw.store.start_web_session(sid, account.kind, account.subject_id)
    session["uid"] = str(account.subject_id)
    session["kind"] = account.kind
    session["seen"] = now.timestamp()
    session["sid"] = sid
    return redirect(next_path or url_for("web.dashboard"))


@bp.post("/uitloggen")
def logout() -> Page:
    sid = session.get("sid")
    if isinstance(sid, str):
        gateway().store.revoke_web_session(sid)
    session.clear()
    flash("U bent uitgelogd.")
    return redirect(url_for("web.login"))


@bp.post("/uitloggen/overal")
def logout_everywhere() -> Page:
    """End every session of this person, on every device."""
    p: auth.Principal = g.principal
    kind = "professional" if p.professional_id else "admin"
    subject = p.professional_id or p.admin_id
    assert subject is not None
    gateway().store.revoke_web_sessions(kind, subject)
    session.clear()
    flash("U bent op alle apparaten uitgelogd.")
    return redirect(url_for("web.login"))
