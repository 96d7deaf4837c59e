"""Administration: organisations and their professionals and API credentials (organisation
and region admins), regional coordinator rules, access requests and objections (region admins).

Who may call what is in auth.MATRIX; which organisation a caller may touch is decided by
auth.organisation_in_scope. Every change is written to the audit log.
"""

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb

from services.common.errors import InvalidArgument, NotFound
from services.common.telemetry import current_trace_id
from services.gateway import auth, domain
from services.gateway.api import call, convert, gateway, href, json_body, no_query, ok, principal, require_id
from services.gateway.store import Credential, Organisation, Professional

bp = Blueprint("admin", __name__)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def audit(action: str, target: str, outcome: str = "ok") -> None:
    who = principal()
    gateway().store.audit(
        credential_id=who.credential_id,
        role=who.role,
        action=action,
        target=target,
        outcome=outcome,
        trace_id=current_trace_id(),
    )


def organisation_json(org: Organisation) -> dict[str, Any]:
    path = f"/organisations/{org.id}"
    return {
        "id": str(org.id),
        "name": org.name,
        "legalBasis": org.legal_basis,
        "legalGround": org.legal_ground,
        "domains": list(org.domains),
        "mayCoordinate": org.may_coordinate,
        "createdAt": _iso(org.created_at),
        "_links": {
            "self": href(path),
            "professionals": href(path + "/professionals"),
            "apiCredentials": href(path + "/api-credentials"),
        },
    }


def professional_json(pro: Professional) -> dict[str, Any]:
    return {
        "id": str(pro.id),
        "organisationId": str(pro.organisation_id),
        "name": pro.name,
        "role": pro.role,
        "phone": pro.phone,
        "email": pro.email,
        "active": pro.active,
        "createdAt": _iso(pro.created_at),
        "_links": {"self": href(f"/organisations/{pro.organisation_id}/professionals/{pro.id}")},
    }


def credential_json(cred: Credential, api_key: str | None = None) -> dict[str, Any]:
    path = f"/organisations/{cred.organisation_id}/api-credentials/{cred.id}"
    doc: dict[str, Any] = {
        "id": str(cred.id),
        "name": cred.name,
        "scopes": list(cred.scopes),
        "createdAt": _iso(cred.created_at),
        "lastUsedAt": _iso(cred.last_used_at),
        "revokedAt": _iso(cred.revoked_at),
        "expiresAt": _iso(cred.expires_at),
        "_links": {"self": href(path), "rotate": href(path + "/rotate"), "revoke": href(path + "/revoke")},
    }
    if api_key is not None:
        # Shown once, never stored in clear and never shown again.
        doc["apiKey"] = api_key
    return doc


# -- organisations ------------------------------------------------------------------------


@bp.get("/organisations")
def list_organisations() -> Response:
    no_query()
    who = principal()
    orgs = gateway().store.organisations(who.region)
    if who.role == auth.ORGANISATION_ADMIN:
        orgs = [o for o in orgs if o.id == who.organisation_id]
    return ok(
        {"organisations": [organisation_json(o) for o in orgs], "_links": {"self": href("/organisations")}}
    )


@bp.post("/organisations")
def create_organisation() -> Response:
    no_query()
    body = domain.parse_organisation(json_body(), partial=False)
    gw = gateway()
    org = gw.store.create_organisation(
        region=principal().region,
        name=body.name or "",
        legal_basis=body.legal_basis or "consent",
        legal_ground=body.legal_ground or "",
        domains=body.domains or [],
        may_coordinate=bool(body.may_coordinate),
    )
    if org is None:
        raise InvalidArgument("organisation_exists", "Er is al een organisatie met deze naam.", field="name")
    audit("organisation.create", str(org.id))
    doc = organisation_json(org)
    return ok(doc, 201, {"Location": doc["_links"]["self"]["href"]})


@bp.get("/organisations/<organisation_id>")
def get_organisation(organisation_id: str) -> Response:
    no_query()
    return ok(organisation_json(auth.organisation_in_scope(gateway().store, principal(), organisation_id)))


@bp.patch("/organisations/<organisation_id>")
def update_organisation(organisation_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    changes = domain.parse_organisation(json_body(), partial=True).changes()
    basis = changes.get("legal_basis", org.legal_basis)
    ground = changes.get("legal_ground", org.legal_ground)
    if basis == "legalGround" and not ground.strip():
        raise InvalidArgument("missing_field", "Noem de wettelijke grondslag.", field="legalGround")
    if "name" in changes and any(
        o.name == changes["name"] and o.id != org.id for o in gw.store.organisations(org.region)
    ):
        raise InvalidArgument("organisation_exists", "Er is al een organisatie met deze naam.", field="name")
    updated = gw.store.update_organisation(org.id, **changes)
    assert updated is not None
    audit("organisation.update", str(org.id))
    return ok(organisation_json(updated))


# -- professionals ------------------------------------------------------------------------


@bp.get("/organisations/<organisation_id>/professionals")
def list_professionals(organisation_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    pros = gw.store.professionals(org.id)
    return ok(
        {
            "professionals": [professional_json(p) for p in pros],
            "_links": {"self": href(f"/organisations/{org.id}/professionals")},
        }
    )


@bp.post("/organisations/<organisation_id>/professionals")
def create_professional(organisation_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    fields = domain.parse_professional(json_body(), partial=False)
    if gw.store.professional_by_email(fields["email"]) is not None:
        from services.common.errors import AlreadyExists

        raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.")
    pro = gw.store.upsert_professional(
        organisation_id=org.id,
        name=fields["name"],
        role=fields.get("role", ""),
        phone=fields.get("phone", ""),
        email=fields["email"],
    )
    audit("professional.create", str(pro.id))
    doc = professional_json(pro)
    return ok(doc, 201, {"Location": doc["_links"]["self"]["href"]})


@bp.get("/organisations/<organisation_id>/professionals/<professional_id>")
def get_professional(organisation_id: str, professional_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    return ok(professional_json(auth.professional_in_scope(gw.store, principal(), org, professional_id)))


@bp.patch("/organisations/<organisation_id>/professionals/<professional_id>")
def update_professional(organisation_id: str, professional_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    pro = auth.professional_in_scope(gw.store, principal(), org, professional_id)
    changes = domain.parse_professional(json_body(), partial=True)
    if changes.get("active") is False and pro.active:
        from services.gateway.api.lifecycle import require_no_active_signals

        require_no_active_signals(pro)  # issue 12: transfer or end first
    updated = gw.store.update_professional(pro.id, **changes)
    assert updated is not None
    audit("professional.update", str(pro.id))
    return ok(professional_json(updated))


# -- API credentials of the organisation's systems ------------------------------------------


def _credential_in_scope(org: Organisation, credential_id: str) -> Credential:
    not_found = NotFound("credential_not_found", "API-sleutel niet gevonden.")
    if not domain.is_uuid(credential_id):
        raise not_found
    cred = gateway().store.credential(credential_id)
    if cred is None or cred.organisation_id != org.id or cred.kind != "system":
        raise not_found
    return cred


@bp.get("/organisations/<organisation_id>/api-credentials")
def list_credentials(organisation_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    return ok(
        {
            "apiCredentials": [credential_json(c) for c in gw.store.credentials(org.id)],
            "_links": {"self": href(f"/organisations/{org.id}/api-credentials")},
        }
    )


@bp.post("/organisations/<organisation_id>/api-credentials")
def create_credential(organisation_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    name, scopes = domain.parse_credential(json_body())
    key = domain.new_api_key()
    cred = gw.store.add_credential(
        key_hash=domain.hash_api_key(key),
        kind="system",
        region=org.region,
        organisation_id=org.id,
        name=name,
        scopes=scopes,
    )
    audit("credential.create", str(cred.id))
    doc = credential_json(cred, key)
    return ok(doc, 201, {"Location": doc["_links"]["self"]["href"]})


@bp.post("/organisations/<organisation_id>/api-credentials/<credential_id>/rotate")
def rotate_credential(organisation_id: str, credential_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    old = _credential_in_scope(org, credential_id)
    grace = domain.parse_rotation(json_body(optional=True))
    key = domain.new_api_key()
    new = gw.store.rotate_credential(old.id, domain.hash_api_key(key), grace)
    if new is None:
        from services.common.errors import FailedPrecondition

        raise FailedPrecondition("credential_revoked", "Een ingetrokken sleutel kan niet worden vervangen.")
    audit("credential.rotate", str(old.id))
    doc = credential_json(new, key)
    return ok(doc, 201, {"Location": doc["_links"]["self"]["href"]})


@bp.post("/organisations/<organisation_id>/api-credentials/<credential_id>/revoke")
def revoke_credential(organisation_id: str, credential_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    cred = _credential_in_scope(org, credential_id)
    domain.expect_object(json_body(optional=True), "", ())
    revoked = gw.store.revoke_credential(cred.id)
    assert revoked is not None
    audit("credential.revoke", str(cred.id))
    return ok(credential_json(revoked))


# -- region: coordinator rules, access requests, objections ---------------------------------


def rules_json(rules: mpb.CoordinatorRules) -> dict[str, Any]:
    return {
        "organisationPriority": list(rules.organisation_priority),
        "domainPriority": list(rules.domain_priority),
        "version": rules.version,
        "createdAt": convert.iso(rules.created_at),
        "createdBy": rules.created_by or None,
        "_links": {"self": href("/coordinator-rules")},
    }


@bp.get("/coordinator-rules")
def get_coordinator_rules() -> Response:
    no_query()
    b = gateway().backends
    resp = call(b.match.GetCoordinatorRules, mpb.GetCoordinatorRulesRequest())
    return ok(rules_json(resp.rules))


@bp.put("/coordinator-rules")
def set_coordinator_rules() -> Response:
    no_query()
    orgs, domains = domain.parse_coordinator_rules(json_body())
    gw = gateway()
    known = {str(o.id) for o in gw.store.organisations(principal().region)}
    for i, org in enumerate(orgs):
        if org not in known:
            raise InvalidArgument(
                "unknown_organisation",
                "Onbekende organisatie in de prioriteitenlijst.",
                field=f"organisationPriority[{i}]",
            )
    b = gw.backends
    resp = call(
        b.match.SetCoordinatorRules,
        mpb.SetCoordinatorRulesRequest(
            rules=mpb.CoordinatorRules(organisation_priority=orgs, domain_priority=domains),
            admin_id=principal().actor_id,
        ),
    )
    audit("coordinator_rules.set", str(resp.rules.version))
    return ok(rules_json(resp.rules))


@bp.post("/access-requests")
def access_request() -> Response:
    """Inzage (GDPR art. 15): everything SluiS holds on a person, as one document."""
    no_query()
    bsn = domain.parse_access_request(json_body())
    gw = gateway()
    b = gw.backends
    pseudonym = call(b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=bsn)).pseudonym
    signals = call(
        b.signal.ListSignalsOnPseudonym, spb.ListSignalsOnPseudonymRequest(pseudonym=pseudonym)
    ).signals
    matches = call(
        b.match.ListMatchesOnPseudonym, mpb.ListMatchesOnPseudonymRequest(pseudonym=pseudonym)
    ).matches
    entries = call(b.match.ListAccessLog, mpb.ListAccessLogRequest(pseudonym=pseudonym)).entries
    names: dict[str, str] = {str(o.id): o.name for o in gw.store.organisations(principal().region)}
    audit("access_request", "", f"signals={len(signals)} matches={len(matches)} reads={len(entries)}")
    doc = {
        "generatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "region": principal().region,
        "signals": [
            {
                "id": s.signal_id,
                "status": convert.signal_json(s)["status"],
                "organisation": {
                    "id": s.professional.organisation_id,
                    "name": s.professional.organisation_name,
                },
                "professional": {"name": s.professional.name, "role": s.professional.role},
                "registeredAt": convert.iso(s.registered_at),
                "activeUntil": convert.iso(s.active_until),
                "endedAt": convert.iso(s.ended_at),
                "endReason": convert.signal_json(s)["endReason"],
                "legalBasis": convert.signal_json(s)["legalBasis"],
                "legalGround": s.legal_ground,
                "informed": convert.informed_json(s.informed),
            }
            for s in signals
        ],
        "matches": [
            {
                "id": m.match_id,
                "status": convert.MATCH_STATUS.get(m.status, "unknown"),
                "createdAt": convert.iso(m.created_at),
                "closedAt": convert.iso(m.closed_at),
                "organisations": sorted({x.professional.organisation_name for x in m.members}),
                "coordinator": next(
                    (
                        {"name": x.professional.name, "organisation": x.professional.organisation_name}
                        for x in m.members
                        if x.professional.professional_id == m.coordinator_professional_id
                    ),
                    None,
                ),
            }
            for m in matches
        ],
        "accessLog": [
            {
                "professionalId": e.professional_id,
                "organisation": {"id": e.organisation_id, "name": names.get(e.organisation_id, "")},
                "purpose": e.purpose,
                "outcome": e.outcome,
                "readAt": convert.iso(e.read_at),
            }
            for e in entries
        ],
    }
    return ok(doc)


@bp.post("/objections")
def uphold_objection() -> Response:
    """An upheld objection (bezwaar): the signal is removed at once, without archive."""
    no_query()
    signal_id = domain.parse_objection(json_body())
    not_found = NotFound("signal_not_found", "Signaal niet gevonden.")
    require_id(signal_id, not_found)
    b = gateway().backends
    removed = call(
        b.signal.RemoveSignal,
        spb.RemoveSignalRequest(signal_id=signal_id, reason=spb.END_REASON_OBJECTION_UPHELD),
        not_found,
    )
    # The objection, not the signal: the signal id is erased everywhere (docs/retention.md).
    audit("objection.uphold", removed.objection_id)
    return ok(
        {
            "signalId": signal_id,
            "decision": "upheld",
            "objectionId": removed.objection_id,
            "_links": {
                "self": href("/objections"),
                "block": href(f"/objections/{removed.objection_id}/block"),
            },
        },
        201,
    )
