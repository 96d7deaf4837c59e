"""Administration: organisations, their professionals and portal logins, API credentials,
webhooks, regional coordinator rules and statistics.

Which organisation a caller may touch is decided by auth.organisation_in_scope; every
change is written to the audit log (usecases.audit).
"""

import secrets
import uuid
from typing import Any

from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb
from sluis.signal.v1 import signal_pb2 as spb
from werkzeug.security import generate_password_hash

from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.common.protos import from_timestamp
from services.gateway import auth, domain, totp
from services.gateway.store import Credential, Organisation, Professional
from services.gateway.usecases import (
    audit,
    call,
    credential_not_found,
    gateway,
    principal,
    signals,
    walk,
    webhook_not_found,
)

# -- organisations ---------------------------------------------------------------------------


def organisation(organisation_id: str) -> Organisation:
    """An organisation the caller may manage; anything else looks exactly like unknown."""
    return auth.organisation_in_scope(gateway().store, principal(), organisation_id)


def own_organisation() -> Organisation:
    """The organisation of the calling organisation admin."""
    return organisation(str(principal().organisation_id))


def organisations() -> list[Organisation]:
    who = principal()
    orgs = gateway().store.organisations(who.region)
    if who.role == auth.ORGANISATION_ADMIN:
        orgs = [o for o in orgs if o.id == who.organisation_id]
    return orgs


def _name_taken() -> InvalidArgument:
    return InvalidArgument("organisation_exists", "Er is al een organisatie met deze naam.", field="name")


def create_organisation(body: domain.OrganisationProfileInput) -> Organisation:
    org = gateway().store.create_organisation(
        region=principal().region,
        name=body.name or "",
        legal_basis=body.legal_basis or "consent",
        legal_ground=body.legal_ground or "",
        domains=body.domains or [],
        may_coordinate=bool(body.may_coordinate),
    )
    if org is None:
        raise _name_taken()
    audit("organisation.create", str(org.id))
    return org


def update_organisation(organisation_id: str, changes: dict[str, Any]) -> Organisation:
    gw = gateway()
    org = organisation(organisation_id)
    basis = changes.get("legal_basis", org.legal_basis)
    ground = changes.get("legal_ground", org.legal_ground)
    if basis == "legalGround" and not ground.strip():
        raise InvalidArgument("missing_field", "Noem de wettelijke grondslag.", field="legalGround")
    if "name" in changes and any(
        o.name == changes["name"] and o.id != org.id for o in gw.store.organisations(org.region)
    ):
        raise _name_taken()
    updated = gw.store.update_organisation(org.id, **changes)
    assert updated is not None
    audit("organisation.update", str(org.id))
    return updated


# -- professionals and their portal logins ---------------------------------------------------


def professional(org: Organisation, professional_id: str) -> Professional:
    return auth.professional_in_scope(gateway().store, principal(), org, professional_id)


def create_professional(
    org: Organisation, fields: dict[str, Any], *, with_login: bool
) -> tuple[Professional, dict[str, str]]:
    """A new professional of `org`; with_login also creates the portal login, whose one-time
    password and TOTP secret are returned (shown once)."""
    store = gateway().store
    if store.professional_by_email(fields["email"]) is not None or store.web_account(fields["email"]):
        raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.", field="email")
    pro = store.upsert_professional(
        organisation_id=org.id,
        name=fields["name"],
        role=fields.get("role", ""),
        phone=fields.get("phone", ""),
        email=fields["email"],
    )
    login = new_login(pro.email, "professional", pro.id) if with_login else {}
    audit("professional.invite" if with_login else "professional.create", str(pro.id))
    return pro, login


def update_professional(
    org: Organisation, professional_id: str, changes: dict[str, Any], action: str = "professional.update"
) -> Professional:
    pro = professional(org, professional_id)
    if changes.get("active") is False and pro.active:
        require_no_active_signals(pro)
    updated = gateway().store.update_professional(pro.id, **changes)
    assert updated is not None
    audit(action, str(pro.id))
    return updated


def require_no_active_signals(pro: Professional) -> None:
    """A professional who leaves is not deactivated while they hold active signals: those are
    transferred to a colleague or ended first (issue 12)."""
    resp = call(
        gateway().backends.signal.ListSignals,
        spb.ListSignalsRequest(professional_id=str(pro.id), status=spb.SIGNAL_STATUS_ACTIVE, page_size=1),
    )
    if resp.signals:
        raise FailedPrecondition(
            "professional_has_active_signals",
            "Deze professional heeft nog actieve signalen. Draag ze over aan een collega of beëindig ze"
            " voordat u de professional deactiveert.",
        )


def _no_colleague() -> InvalidArgument:
    return InvalidArgument(
        "transfer_target_invalid",
        "Kies een andere, actieve professional van dezelfde organisatie.",
        field="toProfessionalId",
    )


def transfer_signals(
    org: Organisation, professional_id: str, to_professional_id: str
) -> spb.TransferSignalsResponse:
    """A professional who leaves: their active signals go to an active colleague of the same
    organisation (dates kept; the match and the coordinator role follow)."""
    leaver = professional(org, professional_id)
    try:
        colleague = professional(org, to_professional_id)
    except NotFound:
        raise _no_colleague() from None
    if colleague.id == leaver.id or not colleague.active:
        raise _no_colleague()
    resp: spb.TransferSignalsResponse = call(
        gateway().backends.signal.TransferSignals,
        spb.TransferSignalsRequest(
            from_professional_id=str(leaver.id), to=signals.contact_of(colleague, org)
        ),
    )
    audit("professional.transfer", str(leaver.id), f"transferred={resp.transferred} ended={resp.ended}")
    return resp


def end_signals_of(org: Organisation, professional_id: str) -> int:
    """A professional who leaves without a colleague to take over: every active signal of
    theirs is ended (reason other, archived); then they can be deactivated."""
    pro = professional(org, professional_id)
    resp = call(
        gateway().backends.signal.EndSignalsOfProfessional,
        spb.EndSignalsOfProfessionalRequest(professional_id=str(pro.id)),
    )
    ended: int = resp.ended
    audit("professional.end_signals", str(pro.id), f"ended={ended}")
    return ended


def reset_login(org: Organisation, professional_id: str) -> tuple[Professional, dict[str, str]]:
    """A new one-time password and TOTP secret for a professional."""
    pro = professional(org, professional_id)
    login = new_login(pro.email, "professional", pro.id)
    audit("professional.reset_login", str(pro.id))
    return pro, login


def new_login(email: str, kind: str, subject_id: uuid.UUID) -> dict[str, str]:
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
    return {"password": password, "totpSecret": secret}


# -- API credentials of the organisation's systems -------------------------------------------


def credential(org: Organisation, credential_id: str) -> Credential:
    cred = gateway().store.credential(credential_id) if domain.is_uuid(credential_id) else None
    if cred is None or cred.organisation_id != org.id or cred.kind != "system":
        raise credential_not_found()
    return cred


def create_credential(org: Organisation, name: str, scopes: list[str]) -> tuple[Credential, str]:
    """A new system credential and its key (shown once, stored only as a hash)."""
    key = domain.new_api_key()
    cred = gateway().store.add_credential(
        key_hash=domain.hash_api_key(key),
        kind="system",
        region=org.region,
        organisation_id=org.id,
        name=name,
        scopes=scopes,
    )
    audit("credential.create", str(cred.id))
    return cred, key


def rotate_credential(org: Organisation, credential_id: str, grace_seconds: int) -> tuple[Credential, str]:
    old = credential(org, credential_id)
    key = domain.new_api_key()
    new = gateway().store.rotate_credential(old.id, domain.hash_api_key(key), grace_seconds)
    if new is None:
        raise FailedPrecondition("credential_revoked", "Een ingetrokken sleutel kan niet worden vervangen.")
    audit("credential.rotate", str(old.id))
    return new, key


def revoke_credential(org: Organisation, credential_id: str) -> Credential:
    cred = credential(org, credential_id)
    revoked = gateway().store.revoke_credential(cred.id)
    assert revoked is not None
    audit("credential.revoke", str(cred.id))
    return revoked


# -- webhooks (kept by notify) ---------------------------------------------------------------


def webhooks(org: Organisation) -> list[npb.Webhook]:
    resp = call(gateway().backends.notify.ListWebhooks, npb.ListWebhooksRequest(organisation_id=str(org.id)))
    return list(resp.webhooks)


def set_webhook(org: Organisation, url: str, secret: str, kinds: list[str]) -> npb.Webhook:
    domain.check_webhook(url, secret)
    resp = call(
        gateway().backends.notify.SetWebhook,
        npb.SetWebhookRequest(
            webhook=npb.Webhook(organisation_id=str(org.id), url=url, kinds=kinds), secret=secret
        ),
    )
    audit("webhook.set", resp.webhook.webhook_id)
    webhook: npb.Webhook = resp.webhook
    return webhook


def delete_webhook(org: Organisation, webhook_id: str) -> None:
    webhook_id = webhook_id[:64]
    call(
        gateway().backends.notify.DeleteWebhook,
        npb.DeleteWebhookRequest(organisation_id=str(org.id), webhook_id=webhook_id),
        webhook_not_found(),
    )
    audit("webhook.delete", webhook_id)


# -- region: coordinator rules ----------------------------------------------------------------


def coordinator_rules() -> mpb.CoordinatorRules:
    rules: mpb.CoordinatorRules = call(
        gateway().backends.match.GetCoordinatorRules, mpb.GetCoordinatorRulesRequest()
    ).rules
    return rules


def set_coordinator_rules(orgs: list[str], domains: list[str]) -> mpb.CoordinatorRules:
    gw = gateway()
    known = {str(o.id) for o in gw.store.organisations(principal().region)}
    for i, org in enumerate(orgs):
        if org not in known:
            raise InvalidArgument(
                "unknown_organisation",
                "Onbekende organisatie in de prioriteitenlijst.",
                field=f"organisationPriority[{i}]",
            )
    resp = call(
        gw.backends.match.SetCoordinatorRules,
        mpb.SetCoordinatorRulesRequest(
            rules=mpb.CoordinatorRules(organisation_priority=orgs, domain_priority=domains),
            admin_id=principal().actor_id,
        ),
    )
    audit("coordinator_rules.set", str(resp.rules.version))
    rules: mpb.CoordinatorRules = resp.rules
    return rules


# -- statistics ------------------------------------------------------------------------------


def statistics(org: Organisation) -> list[tuple[str, int, int]]:
    """(month, signals registered, matches started) for the last 12 months with activity.

    Counted from the professionals' own lists (aggregates only; no person data)."""
    b = gateway().backends
    signal_months: list[str] = []
    match_month: dict[str, str] = {}
    for pro in gateway().store.professionals(org.id):
        for status in ("active", "archived"):
            for sig in signals.all_of(str(pro.id), status):
                at = from_timestamp(sig.registered_at)
                if at is not None:
                    signal_months.append(at.strftime("%Y-%m"))
        for m in walk(
            lambda t, pid=str(pro.id): call(
                b.match.ListMatches,
                # Dates only: nobody is disclosed, so match writes no line about any person.
                mpb.ListMatchesRequest(professional_id=pid, page_size=100, page_token=t, counts_only=True),
            ),
            "matches",
        ):
            at = from_timestamp(m.created_at)
            if at is not None:
                match_month[m.match_id] = at.strftime("%Y-%m")
    return domain.per_month(signal_months, list(match_month.values()))
