"""Administration: organisations, their professionals and portal logins, API credentials,
webhooks and regional coordinator rules (statistics: usecases/statistics.py).

Which organisation a caller may touch is decided by auth.organisation_in_scope; every
change is written to the audit log (usecases.audit).
"""

from typing import Any

from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb
from sluis.signal.v1 import signal_pb2 as spb

from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.gateway import auth, domain
from services.gateway.store import Credential, Invitation, Organisation, Professional
from services.gateway.usecases import (
    accounts,
    audit,
    call,
    credential_not_found,
    dead_letter_not_found,
    gateway,
    principal,
    require_active,
    reviews,
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
        covenant_date=body.covenant_date,
    )
    if org is None:
        raise _name_taken()
    audit("organisation.create", str(org.id))
    return org


# -- organisation lifecycle (issue 16): onboard (create), suspend, reactivate, offboard ---------


def suspend_organisation(organisation_id: str) -> Organisation:
    """No new signals or professionals; existing signals and matches stay as they are."""
    return _set_status(organisation(organisation_id), "suspended", ("active",), "organisation.suspend")


def reactivate_organisation(organisation_id: str) -> Organisation:
    return _set_status(organisation(organisation_id), "active", ("suspended",), "organisation.reactivate")


def _set_status(org: Organisation, status: str, allowed_from: tuple[str, ...], action: str) -> Organisation:
    if org.status == status:
        return org
    if org.status not in allowed_from:
        raise FailedPrecondition("organisation_offboarded", "Deze organisatie is uitgeschreven.")
    updated = gateway().store.update_organisation(
        org.id, status=status, status_changed_at=gateway().clock.now()
    )
    assert updated is not None
    audit(action, str(org.id))
    return updated


def offboard_organisation(organisation_id: str, transfer_to: str | None) -> tuple[Organisation, int, int]:
    """The organisation leaves the region: every active signal of its professionals is
    transferred to one professional of another organisation (when given) or ended; then its
    professionals are deactivated, logins and API keys end, and it is marked offboarded.
    (organisation, transferred, ended)."""
    gw = gateway()
    org = organisation(organisation_id)
    target: tuple[Professional, Organisation] | None = None
    if transfer_to is not None:
        pro = gw.store.professional(transfer_to) if domain.is_uuid(transfer_to) else None
        to_org = gw.store.organisation(pro.organisation_id) if pro is not None else None
        if (
            pro is None
            or to_org is None
            or to_org.region != org.region
            or to_org.id == org.id
            or not pro.active
        ):
            raise InvalidArgument(
                "transfer_target_invalid",
                "Kies een actieve professional van een andere organisatie in de regio.",
                field="transferToProfessionalId",
            )
        target = (pro, to_org)
    transferred = ended = 0
    for pro in gw.store.professionals(org.id):
        if target is not None:
            resp = call(
                gw.backends.signal.TransferSignals,
                spb.TransferSignalsRequest(from_professional_id=str(pro.id), to=signals.contact_of(*target)),
            )
            transferred += resp.transferred
            ended += resp.ended
        else:
            ended += call(
                gw.backends.signal.EndSignalsOfProfessional,
                spb.EndSignalsOfProfessionalRequest(professional_id=str(pro.id)),
            ).ended
        gw.store.update_professional(pro.id, active=False)
        gw.store.remove_login("professional", pro.id)
    for admin in gw.store.admins(org.region, org.id):
        gw.store.remove_login("admin", admin.id)
    for cred in gw.store.credentials(org.id):
        if cred.revoked_at is None:
            gw.store.revoke_credential(cred.id)
    updated = gw.store.update_organisation(org.id, status="offboarded", status_changed_at=gw.clock.now())
    assert updated is not None
    audit("organisation.offboard", str(org.id), f"transferred={transferred} ended={ended}")
    return updated, transferred, ended


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
    reviews.profile_changed(org, updated)  # issue 22: the change reaches signals and matches
    return updated


# -- professionals and their portal logins ---------------------------------------------------


def professional(org: Organisation, professional_id: str) -> Professional:
    return auth.professional_in_scope(gateway().store, principal(), org, professional_id)


def create_professional(org: Organisation, fields: dict[str, Any]) -> tuple[Professional, Invitation]:
    """A new professional of `org`, invited by mail to set a password and the second factor
    (issue 16: nobody sees another person's password, not even the admin)."""
    store = gateway().store
    if (
        store.professional_by_email(fields["email"]) is not None
        or store.web_account(fields["email"])
        or store.admin_by_email(fields["email"])
    ):
        raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.", field="email")
    require_active(org)
    pro = store.upsert_professional(
        organisation_id=org.id,
        name=fields["name"],
        role=fields.get("role", ""),
        phone=fields.get("phone", ""),
        email=fields["email"],
    )
    audit("professional.create", str(pro.id))
    return pro, accounts.invite_professional(org, pro)


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


def reset_login(org: Organisation, professional_id: str) -> tuple[Professional, Invitation]:
    """Admin reset: the login and every session end now; a reset link goes by mail."""
    pro = professional(org, professional_id)
    return pro, accounts.reset_professional(org, pro)


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


def check_rule_organisations(orgs: list[str]) -> None:
    """Every organisation in the priority list is one of the region's, and may coordinate."""
    known = {str(o.id): o for o in gateway().store.organisations(principal().region)}
    for i, org_id in enumerate(orgs):
        org = known.get(org_id)
        if org is None:
            raise InvalidArgument(
                "unknown_organisation",
                "Onbekende organisatie in de prioriteitenlijst.",
                field=f"organisationPriority[{i}]",
            )
        if not org.may_coordinate:
            raise InvalidArgument(
                "may_not_coordinate",
                f"{org.name} mag geen matchregie voeren en kan dus niet in de prioriteitenlijst.",
                field=f"organisationPriority[{i}]",
            )


def preview_coordinator_rules(orgs: list[str], domains: list[str]) -> mpb.PreviewCoordinatorRulesResponse:
    """What the proposal would change on the open matches (counts only; nothing is stored)."""
    check_rule_organisations(orgs)
    resp: mpb.PreviewCoordinatorRulesResponse = call(
        gateway().backends.match.PreviewCoordinatorRules,
        mpb.PreviewCoordinatorRulesRequest(
            rules=mpb.CoordinatorRules(organisation_priority=orgs, domain_priority=domains)
        ),
    )
    return resp


def coordinator_rule_versions() -> list[mpb.CoordinatorRules]:
    resp = call(
        gateway().backends.match.ListCoordinatorRuleVersions, mpb.ListCoordinatorRuleVersionsRequest()
    )
    return list(resp.versions)


def set_coordinator_rules(orgs: list[str], domains: list[str]) -> mpb.CoordinatorRules:
    gw = gateway()
    check_rule_organisations(orgs)
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


# -- undeliverable notifications (dead letters, kept by notify) -------------------------------

# What an organisation admin is shown at most (oldest first, as notify lists them).
DEAD_LETTERS_SHOWN = 1_000


def dead_letters(org: Organisation) -> list[npb.DeadLetter]:
    """The organisation's notifications that notify gave up on (its admin fixes the address)."""
    notify = gateway().backends.notify
    return walk(
        lambda token: call(
            notify.ListDeadLetters,
            npb.ListDeadLettersRequest(organisation_id=str(org.id), page_size=100, page_token=token),
        ),
        "dead_letters",
        DEAD_LETTERS_SHOWN,
    )


def retry_dead_letter(org: Organisation, delivery_id: str) -> None:
    """Send one of the organisation's dead letters again; another's looks exactly like unknown."""
    delivery_id = delivery_id[:64]
    if delivery_id not in {d.delivery_id for d in dead_letters(org)}:
        raise dead_letter_not_found()
    call(
        gateway().backends.notify.RetryDeadLetter,
        npb.RetryDeadLetterRequest(delivery_id=delivery_id),
        dead_letter_not_found(),
    )
    audit("dead_letter.retry", delivery_id)
