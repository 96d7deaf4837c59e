"""Administration over REST: organisations and their professionals and API credentials
(organisation and region admins), regional coordinator rules, access requests and objections
(region admins). What happens (scope, audit) is in usecases/admin.py and usecases/access.py.
"""

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response
from sluis.match.v1 import match_pb2 as mpb

from services.gateway import convert, domain
from services.gateway.api import created, json_body, no_query, ok
from services.gateway.convert import href
from services.gateway.store import Credential, Organisation, Professional
from services.gateway.usecases import access, admin, gateway, principal, reviews, signal_not_found

bp = Blueprint("admin", __name__)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
        "covenantDate": org.covenant_date.isoformat() if org.covenant_date else None,
        "status": org.status,
        "_links": {
            "self": href(path),
            "professionals": href(path + "/professionals"),
            "apiCredentials": href(path + "/api-credentials"),
            "admins": href(path + "/admins"),
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
    return ok(
        {
            "organisations": [organisation_json(o) for o in admin.organisations()],
            "_links": {"self": href("/organisations")},
        }
    )


@bp.post("/organisations")
def create_organisation() -> Response:
    no_query()
    body = domain.parse_organisation(json_body(), partial=False)
    return created(organisation_json(admin.create_organisation(body)))


@bp.get("/organisations/<organisation_id>")
def get_organisation(organisation_id: str) -> Response:
    no_query()
    return ok(organisation_json(admin.organisation(organisation_id)))


@bp.patch("/organisations/<organisation_id>")
def update_organisation(organisation_id: str) -> Response:
    no_query()
    admin.organisation(organisation_id)  # scope first: an unknown organisation is a 404, not a 400
    changes = domain.parse_organisation(json_body(), partial=True).changes()
    return ok(organisation_json(admin.update_organisation(organisation_id, changes)))


# -- review after a change of legal basis (issue 22) -------------------------------------------


@bp.get("/organisations/<organisation_id>/signal-reviews")
def list_signal_reviews(organisation_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    return ok({"signalReviews": [convert.signal_review_json(r) for r in reviews.for_review(org)]})


@bp.post("/organisations/<organisation_id>/signal-reviews/<signal_id>/confirm")
def confirm_signal_review(organisation_id: str, signal_id: str) -> Response:
    return _review(organisation_id, signal_id, confirm=True)


@bp.post("/organisations/<organisation_id>/signal-reviews/<signal_id>/end")
def end_signal_review(organisation_id: str, signal_id: str) -> Response:
    return _review(organisation_id, signal_id, confirm=False)


def _review(organisation_id: str, signal_id: str, *, confirm: bool) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    domain.expect_object(json_body(optional=True), "", ())
    if not domain.is_path_id(signal_id):
        raise signal_not_found()
    return ok(convert.signal_json(reviews.review(org, signal_id, confirm=confirm)))


# -- professionals ------------------------------------------------------------------------


@bp.get("/organisations/<organisation_id>/professionals")
def list_professionals(organisation_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    return ok(
        {
            "professionals": [professional_json(p) for p in gateway().store.professionals(org.id)],
            "_links": {"self": href(f"/organisations/{org.id}/professionals")},
        }
    )


@bp.post("/organisations/<organisation_id>/professionals")
def create_professional(organisation_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    # Every new professional gets an invitation mail (set password and second factor).
    pro, _ = admin.create_professional(org, domain.parse_professional(json_body(), partial=False))
    return created(professional_json(pro))


@bp.get("/organisations/<organisation_id>/professionals/<professional_id>")
def get_professional(organisation_id: str, professional_id: str) -> Response:
    no_query()
    return ok(professional_json(admin.professional(admin.organisation(organisation_id), professional_id)))


@bp.patch("/organisations/<organisation_id>/professionals/<professional_id>")
def update_professional(organisation_id: str, professional_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    admin.professional(org, professional_id)
    changes = domain.parse_professional(json_body(), partial=True)
    return ok(professional_json(admin.update_professional(org, professional_id, changes)))


@bp.post("/organisations/<organisation_id>/professionals/<professional_id>/transfer")
def transfer_signals(organisation_id: str, professional_id: str) -> Response:
    """A professional who leaves: their active signals go to a colleague (then deactivate)."""
    no_query()
    org = admin.organisation(organisation_id)
    resp = admin.transfer_signals(org, professional_id, json_body()["toProfessionalId"])
    path = f"/organisations/{org.id}/professionals/{professional_id}"
    return ok({"transferred": resp.transferred, "ended": resp.ended, "_links": {"professional": href(path)}})


@bp.post("/organisations/<organisation_id>/professionals/<professional_id>/end-signals")
def end_signals_of(organisation_id: str, professional_id: str) -> Response:
    """A professional who leaves: every active signal ended instead of transferred."""
    no_query()
    org = admin.organisation(organisation_id)
    domain.expect_object(json_body(optional=True), "", ())
    ended = admin.end_signals_of(org, professional_id)
    path = f"/organisations/{org.id}/professionals/{professional_id}"
    return ok({"ended": ended, "_links": {"professional": href(path)}})


# -- API credentials of the organisation's systems ------------------------------------------


@bp.get("/organisations/<organisation_id>/api-credentials")
def list_credentials(organisation_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    return ok(
        {
            "apiCredentials": [credential_json(c) for c in gateway().store.credentials(org.id)],
            "_links": {"self": href(f"/organisations/{org.id}/api-credentials")},
        }
    )


@bp.post("/organisations/<organisation_id>/api-credentials")
def create_credential(organisation_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    name, scopes = domain.parse_credential(json_body())
    return created(credential_json(*admin.create_credential(org, name, scopes)))


@bp.post("/organisations/<organisation_id>/api-credentials/<credential_id>/rotate")
def rotate_credential(organisation_id: str, credential_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    admin.credential(org, credential_id)
    grace = domain.parse_rotation(json_body(optional=True))
    return created(credential_json(*admin.rotate_credential(org, credential_id, grace)))


@bp.post("/organisations/<organisation_id>/api-credentials/<credential_id>/revoke")
def revoke_credential(organisation_id: str, credential_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    admin.credential(org, credential_id)
    domain.expect_object(json_body(optional=True), "", ())
    return ok(credential_json(admin.revoke_credential(org, credential_id)))


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
    return ok(rules_json(admin.coordinator_rules()))


@bp.put("/coordinator-rules")
def set_coordinator_rules() -> Response:
    no_query()
    orgs, domains = domain.parse_coordinator_rules(json_body())
    return ok(rules_json(admin.set_coordinator_rules(orgs, domains)))


@bp.post("/access-requests")
def access_request() -> Response:
    """Inzage (GDPR art. 15): everything SluiS holds on a person, as one document."""
    no_query()
    report = access.access_request(domain.check_bsn(json_body()["bsn"]))
    return ok(access_json(report))


@bp.post("/deaths")
def record_death() -> Response:
    """A person died: every active signal on them is ended (deceased), archived, not deleted."""
    no_query()
    ended = access.record_death(domain.check_bsn(json_body()["bsn"]))
    return ok({"ended": ended, "_links": {"self": href("/deaths")}})


def access_json(report: access.AccessReport) -> dict[str, Any]:
    names = report.organisation_names
    return {
        "generatedAt": _iso(gateway().clock.now()),
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
            for s in report.signals
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
            for m in report.matches
        ],
        "accessLog": [
            {
                "professionalId": e.professional_id,
                "organisation": {"id": e.organisation_id, "name": names.get(e.organisation_id, "")},
                "purpose": e.purpose,
                "outcome": e.outcome,
                "readAt": convert.iso(e.read_at),
            }
            for e in report.reads
        ],
    }


@bp.post("/objections")
def uphold_objection() -> Response:
    """An upheld objection (bezwaar): the signal is removed at once, without archive."""
    no_query()
    signal_id = json_body()["signalId"]
    objection_id = access.uphold_objection(signal_id)
    return ok(
        {
            "signalId": signal_id,
            "decision": "upheld",
            "objectionId": objection_id,
            "_links": {"self": href("/objections"), "block": href(f"/objections/{objection_id}/block")},
        },
        201,
    )


@bp.delete("/objections/<objection_id>/block")
def lift_objection_block(objection_id: str) -> Response:
    """The organisation whose signal was removed after the objection may signal the person again."""
    no_query()
    access.lift_objection_block(objection_id)
    return Response(status=204)
