"""Onboarding over REST (issue 16): SluiS-wachters (organisation admins) invited by mail,
login resets, the organisation lifecycle (suspend, reactivate, offboard) and the coordinator
rules' preview and versions. What happens is in usecases/accounts.py and usecases/admin.py.
"""

from datetime import datetime
from typing import Any

from flask import Blueprint, Response

from services.gateway import domain
from services.gateway.api import created, json_body, no_query, ok
from services.gateway.api.admin import _iso, organisation_json, rules_json
from services.gateway.convert import href
from services.gateway.store import Admin, Invitation
from services.gateway.usecases import accounts, admin, gateway

bp = Blueprint("onboarding", __name__)


def invitation_json(inv: Invitation | None, now: datetime) -> dict[str, Any] | None:
    if inv is None:
        return None
    return {
        "purpose": inv.purpose,
        "state": {"geaccepteerd": "accepted", "vervangen": "replaced", "open": "open", "verlopen": "expired"}[
            inv.state(now)
        ],
        "createdAt": _iso(inv.created_at),
        "expiresAt": _iso(inv.expires_at),
        "usedAt": _iso(inv.used_at),
    }


def admin_json(a: Admin, inv: Invitation | None) -> dict[str, Any]:
    path = f"/organisations/{a.organisation_id}/admins/{a.id}"
    return {
        "id": str(a.id),
        "organisationId": str(a.organisation_id),
        "name": a.name,
        "email": a.email,
        "createdAt": _iso(a.created_at),
        "invitation": invitation_json(inv, gateway().clock.now()),
        "_links": {"self": href(path), "resetLogin": href(path + "/reset-login")},
    }


@bp.get("/organisations/<organisation_id>/admins")
def list_admins(organisation_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    store = gateway().store
    admins = store.admins(org.region, org.id)
    invitations = store.invitations_of("admin", [a.id for a in admins])
    return ok(
        {
            "admins": [admin_json(a, invitations.get(a.id)) for a in admins],
            "_links": {"self": href(f"/organisations/{org.id}/admins")},
        }
    )


@bp.post("/organisations/<organisation_id>/admins")
def invite_admin(organisation_id: str) -> Response:
    """A SluiS-wachter for the organisation: created and invited by mail (single-use link)."""
    no_query()
    org = admin.organisation(organisation_id)
    body = domain.parse_professional(json_body(), partial=False)
    new, inv = accounts.invite_organisation_admin(org, body["name"], body["email"])
    return created(admin_json(new, inv))


@bp.post("/organisations/<organisation_id>/admins/<admin_id>/reset-login")
def reset_admin_login(organisation_id: str, admin_id: str) -> Response:
    no_query()
    org = admin.organisation(organisation_id)
    domain.expect_object(json_body(optional=True), "", ())
    target = accounts.organisation_admin(org, admin_id)
    return ok(admin_json(target, accounts.reset_admin(org, target)))


@bp.post("/organisations/<organisation_id>/professionals/<professional_id>/reset-login")
def reset_professional_login(organisation_id: str, professional_id: str) -> Response:
    """The login ends (every session too); a reset link goes to the professional by mail."""
    no_query()
    org = admin.organisation(organisation_id)
    domain.expect_object(json_body(optional=True), "", ())
    pro, inv = admin.reset_login(org, professional_id)
    return ok(
        {
            "professionalId": str(pro.id),
            "invitation": invitation_json(inv, gateway().clock.now()),
            "_links": {"professional": href(f"/organisations/{org.id}/professionals/{pro.id}")},
        }
    )


@bp.post("/organisations/<organisation_id>/suspend")
def suspend(organisation_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return ok(organisation_json(admin.suspend_organisation(organisation_id)))


@bp.post("/organisations/<organisation_id>/reactivate")
def reactivate(organisation_id: str) -> Response:
    no_query()
    domain.expect_object(json_body(optional=True), "", ())
    return ok(organisation_json(admin.reactivate_organisation(organisation_id)))


@bp.post("/organisations/<organisation_id>/offboard")
def offboard(organisation_id: str) -> Response:
    """Every active signal transferred (transferToProfessionalId) or ended; then the
    organisation, its people and keys are off."""
    no_query()
    body = json_body(optional=True)
    org, transferred, ended = admin.offboard_organisation(
        organisation_id, body.get("transferToProfessionalId")
    )
    return ok({"organisation": organisation_json(org), "transferred": transferred, "ended": ended})


@bp.post("/coordinator-rules/preview")
def preview_rules() -> Response:
    no_query()
    orgs, domains = domain.parse_coordinator_rules(json_body())
    resp = admin.preview_coordinator_rules(orgs, domains)
    return ok(
        {
            "openMatches": resp.open_matches,
            "changed": resp.changed,
            "organisations": [
                {"organisationId": o.organisation_id, "current": o.current, "proposed": o.proposed}
                for o in resp.organisations
            ],
        }
    )


@bp.get("/coordinator-rules/versions")
def rule_versions() -> Response:
    no_query()
    return ok(
        {
            "versions": [rules_json(r) for r in admin.coordinator_rule_versions()],
            "_links": {"self": href("/coordinator-rules/versions")},
        }
    )
