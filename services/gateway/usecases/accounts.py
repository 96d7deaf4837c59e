"""Accounts by invitation (issue 16): one-time links by mail (through notify), accepting them
(password, TOTP, recovery codes), admin resets, self-service changes, SluiS-wachters and the
first region admin (an operator command).

Only a hash of every link token is stored. Whatever is wrong with a link (unknown, used,
replaced, expired) gets one and the same answer, so nobody learns which accounts exist.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
from sluis.notify.v1 import notify_pb2 as npb
from werkzeug.security import check_password_hash, generate_password_hash

from services.common.errors import AlreadyExists, InvalidArgument, NotFound, from_rpc_error
from services.gateway import accounts, auth, domain, totp
from services.gateway.settings import GatewaySettings
from services.gateway.store import Admin, GatewayStore, Invitation, Organisation, Professional
from services.gateway.usecases import audit, gateway, principal

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PATH = "/uitnodiging/"
EMAIL_PATH = "/account/e-mail/"

_MAIL_KINDS = {
    "invitation": npb.ACCOUNT_MAIL_KIND_INVITATION,
    "reset": npb.ACCOUNT_MAIL_KIND_RESET,
    "email": npb.ACCOUNT_MAIL_KIND_CONFIRM_EMAIL,
}


def link_invalid() -> NotFound:
    """The one answer for an unknown, used, replaced or expired link."""
    return NotFound(
        "invitation_invalid",
        "Deze link werkt niet (meer). Vraag uw beheerder om een nieuwe uitnodiging.",
    )


@dataclass(frozen=True)
class IssuedLink:
    invitation: Invitation
    link: str
    mailed: bool


def issue_link(
    store: GatewayStore,
    settings: GatewaySettings,
    notify: object | None,
    now: datetime,
    *,
    purpose: str,
    kind: str,
    subject_id: uuid.UUID,
    email: str,
    name: str,
    organisation_name: str,
    invited_by: str,
) -> IssuedLink:
    """A new one-time link for a person, mailed through notify (when given). Usable without a
    request (the operator command)."""
    token = accounts.new_token()
    invitation = store.create_invitation(
        token_hash=accounts.hash_token(token),
        purpose=purpose,
        kind=kind,
        subject_id=subject_id,
        email=email,
        invited_by=invited_by,
        now=now,
        expires_at=accounts.expires_at(now, settings.invitation_hours),
    )
    path = EMAIL_PATH if purpose == "email" else PATH
    link = settings.portal_url.rstrip("/") + path + token
    mailed = False
    if notify is not None:
        try:
            notify.SendAccountMail(  # type: ignore[attr-defined]
                npb.SendAccountMailRequest(
                    mail_id=str(invitation.id),
                    kind=_MAIL_KINDS[purpose],
                    recipient_email=email,
                    recipient_name=name,
                    link=link,
                    organisation_name=organisation_name,
                    valid_until=invitation.expires_at.astimezone(_AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
                ),
                timeout=settings.rpc_timeout_seconds,
            )
            mailed = True
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
    return IssuedLink(invitation, link, mailed)


def _issue(
    purpose: str, kind: str, subject_id: uuid.UUID, email: str, name: str, organisation: str
) -> IssuedLink:
    gw = gateway()
    return issue_link(
        gw.store,
        gw.settings,
        gw.backends.notify,
        gw.clock.now(),
        purpose=purpose,
        kind=kind,
        subject_id=subject_id,
        email=email,
        name=name,
        organisation_name=organisation,
        invited_by=principal().actor_id,
    )


def notify_changed(email: str, name: str) -> None:
    """A notice (no link) to the person that their login details changed."""
    gw = gateway()
    try:
        gw.backends.notify.SendAccountMail(
            npb.SendAccountMailRequest(
                mail_id=str(uuid.uuid4()),
                kind=npb.ACCOUNT_MAIL_KIND_CHANGED,
                recipient_email=email,
                recipient_name=name,
            ),
            timeout=gw.backends.timeout,
        )
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None


# -- the first region admin (operator command) ----------------------------------------------


def create_region_admin(
    store: GatewayStore,
    settings: GatewaySettings,
    notify: object | None,
    now: datetime,
    *,
    email: str,
    name: str,
) -> tuple[Admin, IssuedLink]:
    email = email.strip().lower()
    if not email or "@" not in email or not name.strip():
        raise InvalidArgument("invalid_admin", "Geef een e-mailadres en een naam op.")
    admin = store.create_admin(
        role=auth.REGION_ADMIN, region=settings.region, organisation_id=None, name=name.strip(), email=email
    )
    if admin is None:
        raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.", field="email")
    issued = issue_link(
        store, settings, notify, now, purpose="invitation", kind="admin", subject_id=admin.id, email=email,
        name=admin.name, organisation_name="de regio", invited_by="operator",
    )  # fmt: skip
    store.audit(
        credential_id=None, role=auth.OPERATOR, action="region_admin.invite", target=str(admin.id), outcome="ok",
        trace_id="",
    )  # fmt: skip
    return admin, issued


# -- SluiS-wachters and professionals ---------------------------------------------------------


def invite_organisation_admin(org: Organisation, name: str, email: str) -> tuple[Admin, Invitation]:
    """A SluiS-wachter (organisation admin) of `org`, invited by mail."""
    email = email.strip().lower()
    admin = gateway().store.create_admin(
        role=auth.ORGANISATION_ADMIN, region=org.region, organisation_id=org.id, name=name, email=email
    )
    if admin is None:
        raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.", field="email")
    issued = _issue("invitation", "admin", admin.id, email, admin.name, org.name)
    audit("organisation_admin.invite", str(admin.id))
    return admin, issued.invitation


def invite_professional(org: Organisation, pro: Professional) -> Invitation:
    issued = _issue("invitation", "professional", pro.id, pro.email, pro.name, org.name)
    audit("professional.invite", str(pro.id))
    return issued.invitation


def reset_professional(org: Organisation, pro: Professional) -> Invitation:
    """Admin reset: the old login and every session end now; a reset link goes by mail."""
    gateway().store.remove_login("professional", pro.id)
    issued = _issue("reset", "professional", pro.id, pro.email, pro.name, org.name)
    audit("professional.reset_login", str(pro.id))
    return issued.invitation


def reset_admin(org: Organisation, admin: Admin) -> Invitation:
    gateway().store.remove_login("admin", admin.id)
    issued = _issue("reset", "admin", admin.id, admin.email, admin.name, org.name)
    audit("organisation_admin.reset_login", str(admin.id))
    return issued.invitation


def organisation_admin(org: Organisation, admin_id: str) -> Admin:
    admin = gateway().store.admin(admin_id) if domain.is_uuid(admin_id) else None
    if admin is None or admin.organisation_id != org.id:
        raise NotFound("admin_not_found", "Beheerder niet gevonden.")
    return admin


# -- accepting a link -------------------------------------------------------------------------


def open_link(token: str, purpose: tuple[str, ...] = ("invitation", "reset")) -> Invitation:
    """The usable link behind a token, or the one refusal (unknown, used, replaced, expired)."""
    gw = gateway()
    inv = gw.store.invitation_by_hash(accounts.hash_token(token)) if 20 <= len(token) <= 100 else None
    if inv is None or inv.purpose not in purpose or not inv.usable(gw.clock.now()):
        raise link_invalid()
    return inv


def person_name(kind: str, subject_id: uuid.UUID) -> str:
    store = gateway().store
    who = store.professional(subject_id) if kind == "professional" else store.admin(subject_id)
    return who.name if who is not None else ""


def accept(token: str, password: str, repeated: str, secret: str, code: str) -> list[str]:
    """Set the password and the second factor through a link; the recovery codes (shown once).
    InvalidArgument (with the field) for a weak password or a wrong code."""
    gw = gateway()
    inv = open_link(token)
    problem = accounts.check_password(
        password, repeated, email=inv.email, name=person_name(inv.kind, inv.subject_id)
    )
    if problem is not None:
        raise InvalidArgument("weak_password", problem.detail, field=problem.field)
    now = gw.clock.now()
    step = totp.matching_step(secret, code, now.timestamp())
    if step is None:
        raise InvalidArgument(
            "totp_invalid", "Deze code klopt niet. Scan de QR-code opnieuw en typ de code die de app nu toont.",
            field="code",
        )  # fmt: skip
    codes = accounts.new_recovery_codes()
    if not gw.store.accept_invitation(
        inv.id, now, password_hash=generate_password_hash(password), totp_secret=secret, totp_step=step,
        recovery_hashes=[generate_password_hash(c) for c in codes],
    ):  # fmt: skip
        raise link_invalid()
    gw.store.audit(
        credential_id=None, role=inv.kind, action=f"web.account.{inv.purpose}_accepted", target=str(inv.subject_id),
        outcome="ok", trace_id="",
    )  # fmt: skip
    return codes


def use_recovery_code(kind: str, subject_id: uuid.UUID, email: str, typed: str) -> bool:
    """A recovery code instead of the TOTP code: each works once."""
    code = accounts.normalise_recovery_code(typed)
    if code is None:
        return False
    store = gateway().store
    for code_id, code_hash in store.recovery_codes(kind, subject_id):
        if check_password_hash(code_hash, code):
            return store.use_recovery_code(code_id, email)
    return False


# -- self-service -----------------------------------------------------------------------------


def change_password(
    kind: str, subject_id: uuid.UUID, current: str, new: str, repeated: str, keep_session: str
) -> None:
    gw = gateway()
    account = gw.store.web_account_of(kind, subject_id)
    if account is None or not check_password_hash(account.password_hash, current):
        raise InvalidArgument("wrong_password", "Uw huidige wachtwoord klopt niet.", field="current")
    name = person_name(kind, subject_id)
    problem = accounts.check_password(new, repeated, email=account.email, name=name)
    if problem is not None:
        raise InvalidArgument("weak_password", problem.detail, field=problem.field)
    gw.store.set_password(kind, subject_id, generate_password_hash(new), keep_session)
    audit("account.password_changed", str(subject_id))
    notify_changed(account.email, name)


def request_email_change(kind: str, subject_id: uuid.UUID, new_email: str) -> None:
    """A confirmation link to the new address; the old one is told. Nothing changes until the
    link is followed. A taken address gets the same answer (no enumeration)."""
    new_email = new_email.strip().lower()
    if not domain.looks_like_email(new_email):
        raise InvalidArgument("invalid_email", "Vul een geldig e-mailadres in.", field="email")
    store = gateway().store
    account = store.web_account_of(kind, subject_id)
    if account is None:
        raise link_invalid()
    name = person_name(kind, subject_id)
    taken = store.web_account(new_email) is not None or store.professional_by_email(new_email) is not None
    if not taken:
        _issue("email", kind, subject_id, new_email, name, "")
    audit("account.email_change_requested", str(subject_id))
    notify_changed(account.email, name)


def confirm_email(token: str) -> None:
    gw = gateway()
    inv = open_link(token, ("email",))
    if not gw.store.use_email_link(inv.id, gw.clock.now()) or not gw.store.change_email(
        inv.kind, inv.subject_id, inv.email
    ):
        raise link_invalid()
    gw.store.audit(
        credential_id=None, role=inv.kind, action="web.account.email_changed", target=str(inv.subject_id),
        outcome="ok", trace_id="",
    )  # fmt: skip


def change_phone(pro: Professional, phone: str) -> None:
    gateway().store.update_professional(pro.id, phone=phone)
    audit("account.phone_changed", str(pro.id))
    notify_changed(pro.email, pro.name)
