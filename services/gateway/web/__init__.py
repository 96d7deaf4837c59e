"""The web portal: server-rendered pages for professionals and organisation admins (Dutch).

Same back ends and store as the REST API; who may open which page is `auth.MATRIX` (the
`web.*` endpoints). Sessions are Flask's signed cookie; login is password + TOTP.
"""

import secrets
import time
import uuid
from datetime import UTC, timedelta
from typing import Any

import grpc
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb
from sluis.signal.v1 import signal_pb2 as spb
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response as Page

from services.common.errors import AlreadyExists, DomainError, NotFound, from_rpc_error
from services.common.protos import from_timestamp
from services.gateway import auth, domain
from services.gateway.api import convert, gateway
from services.gateway.api.signals import caller_and_organisation, registration_request
from services.gateway.web import totp

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/statisch"
)

IDLE_TIMEOUT = timedelta(minutes=15)
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
# A password must be followed by the second factor within this time.
PENDING_SECONDS = 300
LAPSING_SOON = timedelta(days=30)
PAGE_SIZE = 100
# Compared against when the e-mail is unknown, so timing does not tell which accounts exist.
_DUMMY_HASH = generate_password_hash("sluis-no-such-account")
LOGIN_FAILED = "Inloggen is niet gelukt. Controleer uw e-mailadres, wachtwoord en code."
LOCKED = "Te veel mislukte pogingen. Dit account is 15 minuten geblokkeerd."

END_REASONS = {"goalReached": "Doel bereikt", "unjustified": "Ten onrechte gemeld", "other": "Andere reden"}
PARTIES = {
    "person": "De persoon zelf",
    "legalRepresentative": "De wettelijk vertegenwoordiger",
    "both": "Beiden",
}
METHODS = {"inPerson": "In een gesprek", "phone": "Telefonisch", "letter": "Per brief", "email": "Per e-mail"}
POSTPONES = {"safety": "Uitgesteld: veiligheid", "notReachable": "Uitgesteld: niet bereikbaar"}


class LoginRequired(Exception):
    """No (live) portal session: the hook sends the browser to the login page."""


class CsrfRefused(Exception):
    """A form without the session's CSRF token."""


# -- sessions ---------------------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    token = session.get("csrf")
    if not isinstance(token, str) or not sent or not secrets.compare_digest(sent, token):
        raise CsrfRefused()


def session_principal() -> auth.Principal | None:
    """The logged-in person, or None (also after 15 minutes idle or when deactivated)."""
    uid = session.get("uid")
    if not isinstance(uid, str):
        return None
    now = time.time()
    if now - float(session.get("seen", 0)) > IDLE_TIMEOUT.total_seconds():
        session.clear()
        session["expired"] = True
        return None
    session["seen"] = now
    gw = gateway()
    region = gw.settings.region
    if session.get("kind") == "professional":
        pro = gw.store.professional(uid)
        if pro is None or not pro.active:
            session.clear()
            return None
        return auth.Principal(auth.PROFESSIONAL, pro.id, region, pro.organisation_id, pro.id)
    admin = gw.store.admin(uid)
    if admin is None or admin.region != region:
        session.clear()
        return None
    return auth.Principal(admin.role, admin.id, region, admin.organisation_id, None, admin.id)


def guard(endpoint: str) -> None:
    """Run for every web endpoint by the app's one before-request hook."""
    g.principal = session_principal()
    if request.method == "POST":
        check_csrf()
    if auth.is_public(endpoint):
        return
    if g.principal is None:
        raise LoginRequired()
    auth.authorise(endpoint, g.principal)


def who() -> auth.Principal:
    principal: auth.Principal = g.principal
    return principal


def display_name() -> str:
    p: auth.Principal | None = g.get("principal")
    if p is None:
        return ""
    gw = gateway()
    if p.professional_id:
        pro = gw.store.professional(p.professional_id)
        return pro.name if pro else ""
    admin = gw.store.admin(p.admin_id) if p.admin_id else None
    return admin.name if admin else ""


@bp.app_context_processor
def template_globals() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "principal": g.get("principal"),
        "display_name": display_name,
        "roles": auth,
    }


def rpc(method: Any, req: Any, not_found: NotFound | None = None) -> Any:
    """One back-end call with the deadline; NOT_FOUND reads as `not_found` whatever the cause
    (unknown, not yours, no longer active): no existence leak."""
    b = gateway().backends
    try:
        return method(req, timeout=b.timeout)
    except grpc.RpcError as exc:
        err = from_rpc_error(exc)
        if not_found is not None and isinstance(err, NotFound):
            raise not_found from None
        raise err from None


def signal_not_found() -> NotFound:
    return NotFound("signal_not_found", "Signaal niet gevonden.")


def match_not_found() -> NotFound:
    return NotFound("match_not_found", "Match niet gevonden.")


def day(ts: Any) -> str:
    moment = from_timestamp(ts)
    return "" if moment is None else moment.astimezone(UTC).strftime("%d-%m-%Y")


bp.add_app_template_filter(day, "day")


# -- login ------------------------------------------------------------------------------------


@bp.get("/inloggen")
def login() -> str:
    return render_template("login.html", step="password", expired=session.pop("expired", False))


@bp.post("/inloggen")
def login_password() -> Page | tuple[str, int]:
    gw = gateway()
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    account = gw.store.web_account(email) if email else None
    now = gw.clock.now()
    if account is None:
        check_password_hash(_DUMMY_HASH, password)
        return render_template("login.html", step="password", error=LOGIN_FAILED), 401
    if account.locked(now):
        return render_template("login.html", step="password", error=LOCKED), 429
    if not check_password_hash(account.password_hash, password):
        gw.store.web_login_failed(account.email, MAX_FAILURES, LOCK_SECONDS)
        return render_template("login.html", step="password", error=LOGIN_FAILED), 401
    # New session for the second step: nothing from before the password survives.
    session.clear()
    session["pending"] = account.email
    session["pending_at"] = time.time()
    return redirect(url_for("web.login_code"))


@bp.get("/inloggen/code")
def login_code() -> Page | str:
    if not isinstance(session.get("pending"), str):
        return redirect(url_for("web.login"))
    return render_template("login.html", step="code")


@bp.post("/inloggen/code")
def login_code_check() -> Page | tuple[str, int]:
    gw = gateway()
    email = session.get("pending")
    if not isinstance(email, str) or time.time() - float(session.get("pending_at", 0)) > PENDING_SECONDS:
        session.clear()
        return redirect(url_for("web.login"))
    account = gw.store.web_account(email)
    now = gw.clock.now()
    if account is None:
        session.clear()
        return redirect(url_for("web.login"))
    if account.locked(now):
        session.clear()
        return render_template("login.html", step="password", error=LOCKED), 429
    step = totp.matching_step(
        account.totp_secret, request.form.get("code", ""), now.timestamp(), account.totp_last_step
    )
    if step is None or not gw.store.web_login_succeeded(account.email, step):
        gw.store.web_login_failed(account.email, MAX_FAILURES, LOCK_SECONDS)
        return render_template("login.html", step="code", error=LOGIN_FAILED), 401
    # Session fixation: a fresh session (new CSRF token) at the moment of login.
    session.clear()
    session["uid"] = str(account.subject_id)
    session["kind"] = account.kind
    session["seen"] = time.time()
    session["sid"] = secrets.token_urlsafe(16)
    csrf_token()
    return redirect(url_for("web.dashboard"))


@bp.post("/uitloggen")
def logout() -> Page:
    session.clear()
    flash("U bent uitgelogd.")
    return redirect(url_for("web.login"))


# -- professional pages ---------------------------------------------------------------------


@bp.get("/")
def dashboard() -> str:
    p = who()
    if p.role != auth.PROFESSIONAL:
        return render_template("admin_home.html")
    b = gateway().backends
    pid = str(p.professional_id)
    signals = rpc(
        b.signal.ListSignals,
        spb.ListSignalsRequest(professional_id=pid, status=spb.SIGNAL_STATUS_ACTIVE, page_size=PAGE_SIZE),
    )
    matches = rpc(b.match.ListMatches, mpb.ListMatchesRequest(professional_id=pid, page_size=PAGE_SIZE))
    inbox = rpc(b.notify.ListInbox, npb.ListInboxRequest(professional_id=pid, unread_only=True, page_size=1))
    open_matches = [m for m in matches.matches if m.status == mpb.MATCH_STATUS_OPEN]
    return render_template(
        "dashboard.html",
        active=len(signals.signals),
        matches=len(open_matches),
        unread=inbox.unread_count,
    )


def _signals(status: spb.SignalStatus.ValueType) -> list[Any]:
    b = gateway().backends
    out: list[Any] = []
    token = ""
    while True:
        resp = rpc(
            b.signal.ListSignals,
            spb.ListSignalsRequest(
                professional_id=str(who().professional_id),
                status=status,
                page_size=PAGE_SIZE,
                page_token=token,
            ),
        )
        out.extend(resp.signals)
        token = resp.next_page_token
        if not token or len(out) >= 1000:
            return out


@bp.get("/signalen")
def signals() -> str:
    now = gateway().clock.now()
    active = _signals(spb.SIGNAL_STATUS_ACTIVE)
    lapsing = [
        s for s in active if (from_timestamp(s.active_until) or now + LAPSING_SOON * 2) - now <= LAPSING_SOON
    ]
    rest = [s for s in active if s not in lapsing]
    return render_template(
        "signals.html",
        active=rest,
        lapsing=lapsing,
        archived=_signals(spb.SIGNAL_STATUS_ARCHIVED),
        end_reasons=END_REASONS,
    )


def _form_body(org_consent: bool) -> dict[str, Any]:
    f = request.form
    informed: dict[str, Any]
    if f.get("postpone"):
        informed = {"postponeReason": f.get("postpone", "")}
    else:
        informed = {
            "party": f.get("party", ""),
            "method": f.get("method", ""),
            "informedOn": f.get("informedOn", ""),
        }
    body: dict[str, Any] = {
        "bsn": f.get("bsn", "").strip(),
        "birthDate": f.get("birthDate", ""),
        "informed": informed,
        "multiProblemAttested": f.get("multiProblemAttested") == "ja",
    }
    if org_consent:
        body["consentGiven"] = f.get("consentGiven") == "ja"
    return body


# Which form field a refusal belongs to (the message is shown next to it).
_FIELD_OF = {
    "bsn": "bsn",
    "birthDate": "birthDate",
    "informed": "party",
    "informed.party": "party",
    "informed.method": "method",
    "informed.informedOn": "informedOn",
    "informed.postponeReason": "postpone",
    "multiProblemAttested": "multiProblemAttested",
    "consentGiven": "consentGiven",
}
# The API's messages name JSON fields; the form speaks of what the user sees.
_FORM_TEXT = {
    "party": "Kies wie er geïnformeerd is, of kies hieronder waarom informeren is uitgesteld.",
    "method": "Kies hoe er geïnformeerd is.",
    "informedOn": "Vul in wanneer er geïnformeerd is (niet in de toekomst).",
    "postpone": "Kies een geldige reden van uitstel.",
}
_REASON_FIELD = {
    "bsn_format": "bsn",
    "bsn_checksum": "bsn",
    "multi_problem_required": "multiProblemAttested",
    "consent_required": "consentGiven",
}


def _signal_form(
    org: Any, errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "signal_new.html",
            org=org,
            errors=errors or {},
            values=values or {},
            parties=PARTIES,
            methods=METHODS,
            postpones=POSTPONES,
            today=gateway().today().isoformat(),
        ),
        status,
    )


@bp.get("/signalen/nieuw")
def new_signal() -> tuple[str, int]:
    _pro, org = caller_and_organisation_web()
    return _signal_form(org)


def caller_and_organisation_web() -> tuple[Any, Any]:
    # api.professional_id() reads g.principal, which the web guard has set.
    return caller_and_organisation()


@bp.post("/signalen/nieuw")
def register_signal() -> Page | tuple[str, int]:
    gw = gateway()
    pro, org = caller_and_organisation_web()
    body = _form_body(org.legal_basis == "consent")
    # Never echo the BSN back: on any refusal the form comes back with the BSN field empty.
    values = {k: v for k, v in request.form.items() if k not in ("bsn", "csrf_token")}
    try:
        reg = domain.parse_signal_registration(body, gw.today())
        b = gw.backends
        person = rpc(  # with a BRP link: birth date checked, municipality known (issue 18)
            b.identity.Pseudonymise,
            ipb.PseudonymiseRequest(bsn=reg.bsn, birth_date=reg.birth_date.isoformat()),
        )
        resp = rpc(
            b.signal.RegisterSignal,
            registration_request(reg, person.pseudonym, pro, org, person.municipality_code),
        )
    except DomainError as err:
        field = _FIELD_OF.get(err.metadata.get("field", ""), "") or _REASON_FIELD.get(err.reason, "")
        errors = {field or "_form": _FORM_TEXT.get(field, err.detail)}
        if err.reason == "signal_exists":
            errors = {
                "_form": "U heeft al een actief signaal op deze persoon. U vindt het bij Mijn signalen."
            }
        return _signal_form(org, errors, values, 400)
    flash("Het signaal is geregistreerd.")
    return redirect(url_for("web.signals", _anchor=f"signaal-{resp.signal.signal_id}"))


def _signal_id() -> str:
    sid = request.view_args.get("signal_id", "") if request.view_args else ""
    if not domain.is_uuid(sid):
        raise signal_not_found()
    return str(sid)


@bp.post("/signalen/<signal_id>/verlengen")
def renew_signal(signal_id: str) -> Page:
    b = gateway().backends
    rpc(
        b.signal.RenewSignal,
        spb.RenewSignalRequest(signal_id=_signal_id(), professional_id=str(who().professional_id)),
        signal_not_found(),
    )
    flash("Het signaal is verlengd.")
    return redirect(url_for("web.signals"))


@bp.post("/signalen/<signal_id>/beeindigen")
def end_signal(signal_id: str) -> Page:
    reason = request.form.get("reason", "")
    if reason not in END_REASONS:
        flash("Kies een reden om het signaal te beëindigen.")
        return redirect(url_for("web.signals"))
    b = gateway().backends
    rpc(
        b.signal.EndSignal,
        spb.EndSignalRequest(
            signal_id=_signal_id(),
            professional_id=str(who().professional_id),
            reason=convert.END_REASON[reason],
        ),
        signal_not_found(),
    )
    flash("Het signaal is beëindigd.")
    return redirect(url_for("web.signals"))


@bp.get("/matches")
def matches() -> str:
    b = gateway().backends
    resp = rpc(
        b.match.ListMatches,
        mpb.ListMatchesRequest(professional_id=str(who().professional_id), page_size=PAGE_SIZE),
    )
    return render_template("matches.html", matches=[convert.match_json(m) for m in resp.matches])


def _match_id(match_id: str) -> str:
    if not domain.is_uuid(match_id):
        raise match_not_found()
    return match_id


@bp.get("/matches/<match_id>")
def match(match_id: str) -> str:
    b = gateway().backends
    resp = rpc(
        b.match.GetMatch,
        mpb.GetMatchRequest(
            match_id=_match_id(match_id), professional_id=str(who().professional_id), purpose="portal"
        ),
        match_not_found(),
    )
    return render_template("match.html", match=convert.match_json(resp.match), me=str(who().professional_id))


@bp.post("/matches/<match_id>/regie")
def take_coordinator(match_id: str) -> Page:
    b = gateway().backends
    rpc(
        b.match.TakeCoordinator,
        mpb.TakeCoordinatorRequest(match_id=_match_id(match_id), professional_id=str(who().professional_id)),
        match_not_found(),
    )
    flash("U bent nu matchregisseur.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/overdragen")
def hand_over(match_id: str) -> Page:
    to = request.form.get("professionalId", "")
    if not domain.is_uuid(to):
        flash("Kies aan wie u de regie overdraagt.")
        return redirect(url_for("web.match", match_id=match_id))
    b = gateway().backends
    rpc(
        b.match.HandOverCoordinator,
        mpb.HandOverCoordinatorRequest(
            match_id=_match_id(match_id), professional_id=str(who().professional_id), to_professional_id=to
        ),
        match_not_found(),
    )
    flash("De regie is aangeboden; de ander moet die nog accepteren.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/accepteren")
def accept(match_id: str) -> Page:
    b = gateway().backends
    rpc(
        b.match.AcceptCoordinator,
        mpb.AcceptCoordinatorRequest(
            match_id=_match_id(match_id), professional_id=str(who().professional_id)
        ),
        match_not_found(),
    )
    flash("U heeft de regie geaccepteerd.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.get("/inbox")
def inbox() -> str:
    b = gateway().backends
    resp = rpc(
        b.notify.ListInbox,
        npb.ListInboxRequest(professional_id=str(who().professional_id), page_size=PAGE_SIZE),
    )
    return render_template(
        "inbox.html", items=[convert.inbox_item_json(i) for i in resp.items], unread=resp.unread_count
    )


@bp.post("/inbox/<item_id>/gelezen")
def read_item(item_id: str) -> Page:
    if not domain.is_uuid(item_id) and not item_id.isalnum():
        raise NotFound("inbox_item_not_found", "Bericht niet gevonden.")
    b = gateway().backends
    rpc(
        b.notify.MarkInboxItemRead,
        npb.MarkInboxItemReadRequest(professional_id=str(who().professional_id), item_id=item_id),
        NotFound("inbox_item_not_found", "Bericht niet gevonden."),
    )
    return redirect(url_for("web.inbox"))


# -- organisation admin ---------------------------------------------------------------------


def own_organisation() -> Any:
    p = who()
    org = gateway().store.organisation(p.organisation_id) if p.organisation_id else None
    if org is None:
        abort(404)
    return org


def new_login(email: str, kind: str, subject_id: uuid.UUID) -> tuple[str, str]:
    """A one-time password and a TOTP secret for a person (shown once to the admin)."""
    password = secrets.token_urlsafe(12)
    secret = totp.new_secret()
    gateway().store.set_web_account(
        email=email,
        kind=kind,
        subject_id=subject_id,
        password_hash=generate_password_hash(password),
        totp_secret=secret,
    )
    return password, secret


@bp.get("/beheer/professionals")
def professionals() -> str:
    org = own_organisation()
    return render_template(
        "admin_professionals.html",
        org=org,
        professionals=gateway().store.professionals(org.id),
        values={},
        errors={},
    )


@bp.post("/beheer/professionals")
def invite_professional() -> Page | tuple[str, int]:
    gw = gateway()
    org = own_organisation()
    body = {k: request.form.get(k, "").strip() for k in ("name", "role", "phone", "email")}
    try:
        fields = domain.parse_professional(body, partial=False)
        if gw.store.professional_by_email(fields["email"]) is not None or gw.store.web_account(
            fields["email"]
        ):
            raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.", field="email")
    except DomainError as err:
        errors = {err.metadata.get("field", "_form") or "_form": err.detail}
        return render_template(
            "admin_professionals.html",
            org=org,
            professionals=gw.store.professionals(org.id),
            values=body,
            errors=errors,
        ), 400
    pro = gw.store.upsert_professional(
        organisation_id=org.id,
        name=fields["name"],
        role=fields.get("role", ""),
        phone=fields.get("phone", ""),
        email=fields["email"],
    )
    password, secret = new_login(pro.email, "professional", pro.id)
    _audit("professional.invite", str(pro.id))
    return redirect_with_secret(
        "web.professionals",
        {"kind": "invite", "name": pro.name, "email": pro.email, "password": password, "totpSecret": secret},
    )


def redirect_with_secret(endpoint: str, shown_once: dict[str, str]) -> Page:
    # Shown once on the next page, then gone from the session.
    session["once"] = shown_once
    return redirect(url_for(endpoint))


@bp.app_context_processor
def shown_once() -> dict[str, Any]:
    return {"pop_once": lambda: session.pop("once", None)}


def _own_professional(professional_id: str) -> Any:
    org = own_organisation()
    return auth.professional_in_scope(gateway().store, who(), org, professional_id)


@bp.post("/beheer/professionals/<professional_id>/deactiveren")
def deactivate_professional(professional_id: str) -> Page:
    pro = _own_professional(professional_id)
    gateway().store.update_professional(pro.id, active=False)
    _audit("professional.deactivate", str(pro.id))
    flash(f"{pro.name} is gedeactiveerd.")
    return redirect(url_for("web.professionals"))


@bp.post("/beheer/professionals/<professional_id>/tweede-factor")
def reset_second_factor(professional_id: str) -> Page:
    pro = _own_professional(professional_id)
    password, secret = new_login(pro.email, "professional", pro.id)
    _audit("professional.reset_login", str(pro.id))
    return redirect_with_secret(
        "web.professionals",
        {"kind": "reset", "name": pro.name, "email": pro.email, "password": password, "totpSecret": secret},
    )


@bp.get("/beheer/organisatie")
def organisation() -> str:
    return render_template("admin_organisation.html", org=own_organisation())


@bp.get("/beheer/sleutels")
def credentials() -> str:
    org = own_organisation()
    return render_template(
        "admin_keys.html", org=org, credentials=gateway().store.credentials(org.id), now=gateway().clock.now()
    )


@bp.post("/beheer/sleutels")
def create_credential() -> Page:
    gw = gateway()
    org = own_organisation()
    name = request.form.get("name", "").strip()[:100] or "koppeling"
    scopes = [s for s in ("signals", "bulkLoads") if request.form.get(f"scope-{s}") == "ja"] or ["signals"]
    key = domain.new_api_key()
    cred = gw.store.add_credential(
        key_hash=domain.hash_api_key(key),
        kind="system",
        region=org.region,
        organisation_id=org.id,
        name=name,
        scopes=scopes,
    )
    _audit("credential.create", str(cred.id))
    return redirect_with_secret("web.credentials", {"kind": "key", "name": cred.name, "apiKey": key})


def _own_credential(credential_id: str) -> Any:
    org = own_organisation()
    cred = gateway().store.credential(credential_id) if domain.is_uuid(credential_id) else None
    if cred is None or cred.organisation_id != org.id or cred.kind != "system":
        raise NotFound("credential_not_found", "API-sleutel niet gevonden.")
    return cred


@bp.post("/beheer/sleutels/<credential_id>/roteren")
def rotate_credential(credential_id: str) -> Page:
    gw = gateway()
    old = _own_credential(credential_id)
    key = domain.new_api_key()
    new = gw.store.rotate_credential(old.id, domain.hash_api_key(key), 86400)
    if new is None:
        raise NotFound("credential_not_found", "API-sleutel niet gevonden.")
    _audit("credential.rotate", str(old.id))
    return redirect_with_secret("web.credentials", {"kind": "key", "name": new.name, "apiKey": key})


@bp.post("/beheer/sleutels/<credential_id>/intrekken")
def revoke_credential(credential_id: str) -> Page:
    cred = _own_credential(credential_id)
    gateway().store.revoke_credential(cred.id)
    _audit("credential.revoke", str(cred.id))
    flash("De sleutel is ingetrokken.")
    return redirect(url_for("web.credentials"))


@bp.get("/beheer/webhooks")
def webhooks() -> str:
    org = own_organisation()
    b = gateway().backends
    resp = rpc(b.notify.ListWebhooks, npb.ListWebhooksRequest(organisation_id=str(org.id)))
    return render_template("admin_webhooks.html", org=org, webhooks=resp.webhooks, kinds=WEBHOOK_KINDS)


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
}


@bp.post("/beheer/webhooks")
def add_webhook() -> Page:
    org = own_organisation()
    url = request.form.get("url", "").strip()
    secret = request.form.get("secret", "")
    if not url.startswith("https://") or len(url) > 2000 or " " in url:
        flash("Geef een https-adres op voor de webhook.")
        return redirect(url_for("web.webhooks"))
    if len(secret) < 16:
        flash("Het ondertekengeheim moet minstens 16 tekens lang zijn.")
        return redirect(url_for("web.webhooks"))
    kinds = [k for k in WEBHOOK_KINDS if request.form.get(f"kind-{k}") == "ja"]
    b = gateway().backends
    resp = rpc(
        b.notify.SetWebhook,
        npb.SetWebhookRequest(
            webhook=npb.Webhook(organisation_id=str(org.id), url=url, kinds=kinds), secret=secret
        ),
    )
    _audit("webhook.set", resp.webhook.webhook_id)
    flash("De webhook is opgeslagen.")
    return redirect(url_for("web.webhooks"))


@bp.post("/beheer/webhooks/<webhook_id>/verwijderen")
def delete_webhook(webhook_id: str) -> Page:
    org = own_organisation()
    b = gateway().backends
    rpc(
        b.notify.DeleteWebhook,
        npb.DeleteWebhookRequest(organisation_id=str(org.id), webhook_id=webhook_id[:64]),
        NotFound("webhook_not_found", "Webhook niet gevonden."),
    )
    _audit("webhook.delete", webhook_id[:64])
    flash("De webhook is verwijderd.")
    return redirect(url_for("web.webhooks"))


@bp.get("/beheer/statistieken")
def statistics() -> str:
    """Signals registered and matches started per month, for the own organisation only.

    Counted here from the professionals' own lists (aggregates only; no person data)."""
    org = own_organisation()
    b = gateway().backends
    signals_per_month: dict[str, int] = {}
    matches_seen: dict[str, str] = {}
    for pro in gateway().store.professionals(org.id):
        for status in (spb.SIGNAL_STATUS_ACTIVE, spb.SIGNAL_STATUS_ARCHIVED):
            token = ""
            while True:
                resp = rpc(
                    b.signal.ListSignals,
                    spb.ListSignalsRequest(
                        professional_id=str(pro.id), status=status, page_size=PAGE_SIZE, page_token=token
                    ),
                )
                for sig in resp.signals:
                    at = from_timestamp(sig.registered_at)
                    if at is not None:
                        key = at.strftime("%Y-%m")
                        signals_per_month[key] = signals_per_month.get(key, 0) + 1
                token = resp.next_page_token
                if not token:
                    break
        resp = rpc(
            b.match.ListMatches, mpb.ListMatchesRequest(professional_id=str(pro.id), page_size=PAGE_SIZE)
        )
        for m in resp.matches:
            at = from_timestamp(m.created_at)
            if at is not None:
                matches_seen[m.match_id] = at.strftime("%Y-%m")
    matches_per_month: dict[str, int] = {}
    for month in matches_seen.values():
        matches_per_month[month] = matches_per_month.get(month, 0) + 1
    months = sorted(set(signals_per_month) | set(matches_per_month))[-12:]
    rows = [(m, signals_per_month.get(m, 0), matches_per_month.get(m, 0)) for m in months]
    peak = max([1, *(max(s, n) for _, s, n in rows)])
    return render_template("admin_statistics.html", org=org, rows=rows, peak=peak)


def _audit(action: str, target: str) -> None:
    p = who()
    gateway().store.audit(
        credential_id=None, role=p.role, action="web." + action, target=target, outcome="ok", trace_id=""
    )


# -- errors -----------------------------------------------------------------------------------


def wants_html() -> bool:
    """Portal requests (and unknown URLs asked for by a browser) get HTML error pages."""
    endpoint = request.endpoint or ""
    if endpoint.startswith("web."):
        return True
    return (
        endpoint == ""
        and not request.path.startswith("/v1")
        and "text/html" in request.headers.get("Accept", "")
    )


_TITLES = {
    400: "Verzoek geweigerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Niet toegestaan",
    413: "Te groot",
}


def render_error(exc: Exception) -> Response:
    """The portal's rendering of the app's one error decision: a Dutch page, never a BSN."""
    import logging

    from werkzeug.exceptions import HTTPException

    from services.common.errors import http_status

    if isinstance(exc, LoginRequired):
        return Response(status=303, headers={"Location": url_for("web.login")})
    if isinstance(exc, CsrfRefused):
        status, detail = (
            400,
            "Dit formulier is verlopen of ongeldig. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
        )
    elif isinstance(exc, grpc.RpcError | DomainError):
        err = from_rpc_error(exc) if isinstance(exc, grpc.RpcError) else exc
        status = http_status(err)
        detail = err.detail
        if status >= 500:
            logging.getLogger("sluis.gateway").error("back-end error", extra={"reason": err.reason})
            status, detail = (
                503 if status == 503 else 500,
                "Er ging iets mis in SluiS. Probeer het later opnieuw.",
            )
    elif isinstance(exc, HTTPException):
        status = exc.code or 500
        detail = {404: "Deze pagina bestaat niet.", 405: "Deze handeling is hier niet toegestaan."}.get(
            status, "Fout."
        )
    else:
        logging.getLogger("sluis.gateway").exception("unhandled error", extra={"endpoint": request.endpoint})
        status, detail = 500, "Er ging iets mis in SluiS. Probeer het later opnieuw."
    title = _TITLES.get(status, "Er ging iets mis")
    response = Response(
        render_template("error.html", title=title, detail=detail), status=status, mimetype="text/html"
    )
    return response
