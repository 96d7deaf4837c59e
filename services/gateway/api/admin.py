"""Administration over REST: organisations and their professionals and API credentials
(organisation and region admins), regional coordinator rules, access requests and objections
(region admins). What happens (scope, audit) is in usecases/admin.py and usecases/access.py.
"""

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request
from sluis.match.v1 import match_pb2 as mpb

from services.gateway import convert, domain
from services.gateway.api import created, json_body, no_query, ok
from services.gateway.convert import href
from services.gateway.store import Credential, Organisation, Professional
from services.gateway.usecases import access, admin, gateway, principal, reviews, signal_not_found
from services.gateway.usecases import anomalies as anomalies_uc

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
    """Inzage (GDPR art. 15): everything SluiS holds and did on a person, as one document:
    JSON, or a printable Dutch page with `Accept: text/html`."""
    no_query()
    body = json_body()
    report = access.access_request(domain.check_bsn(body["bsn"]), body["requester"], body["caseReference"])
    doc = access_json(report)
    if _wants_html():
        return Response(render_template("access_document.html", doc=doc), mimetype="text/html")
    return ok(doc)


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "text/html"
        and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]
    )


@bp.get("/anomalies")
def anomalies() -> Response:
    """The region admin's anomaly report: counts per professional and organisation."""
    no_query("days")
    days = domain.parse_int_param(request.args, "days", 30, 1, anomalies_uc.MAX_DAYS)
    orgs, pros = anomalies_uc.names()
    return ok(
        {
            "days": days,
            "findings": [
                {
                    "kind": f.kind,
                    "organisation": {"id": f.organisation_id, "name": orgs.get(f.organisation_id, "")},
                    **(
                        {"professional": {"id": f.professional_id, "name": pros.get(f.professional_id, "")}}
                        if f.professional_id
                        else {}
                    ),
                    "count": f.count,
                    **({"total": f.total, "day": f.day} if f.kind == "bulk_unjustified" else {}),
                    **({"organisationMedian": f.norm} if f.kind == "above_norm" else {}),
                }
                for f in anomalies_uc.report(days)
            ],
        }
    )


@bp.post("/deaths")
def record_death() -> Response:
    """A person died: every active signal on them is ended (deceased), archived, not deleted."""
    no_query()
    ended = access.record_death(domain.check_bsn(json_body()["bsn"]))
    return ok({"ended": ended, "_links": {"self": href("/deaths")}})


def access_json(report: access.AccessReport) -> dict[str, Any]:
    names = report.organisation_names
    pros = report.professional_names

    def org(organisation_id: str) -> dict[str, str]:
        return {"id": organisation_id, "name": names.get(organisation_id, "")}

    def entry(e: access.LogEntry, **extra: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {"at": _iso(e.at), "organisation": org(e.organisation_id), **extra}
        if e.actor_id in pros:
            doc["professional"] = pros[e.actor_id]
        return doc

    return {
        "generatedAt": _iso(gateway().clock.now()),
        "region": principal().region,
        "request": {
            "requester": report.requester,
            "caseReference": report.case_reference,
            "requestedBy": report.requested_by,
        },
        "signals": [
            {
                "id": h.signal_id,
                "status": h.status,
                "organisation": org(h.organisation_id),
                **({"professional": pros[h.professional_id]} if h.professional_id in pros else {}),
                "registeredAt": _iso(h.registered_at),
                "endedAt": _iso(h.ended_at),
                "endReason": h.end_reason or None,
                "referenceChangedAt": [_iso(at) for at in h.reference_changed_at],
                **(_current_signal(h.current) if h.current is not None else {}),
            }
            for h in report.signals
        ],
        "disclosures": [
            entry(
                e,
                channel=e.channel,
                what=_DISCLOSED.get(e.name, e.name),
                matchId=e.attributes.get("sluis.match_id"),
            )
            for e in report.disclosures
        ],
        "memberships": [
            {
                "matchId": m.match_id,
                "organisation": org(m.organisation_id),
                "joinedAt": _iso(m.joined_at),
                "leftAt": _iso(m.left_at),
            }
            for m in report.memberships
        ],
        "matches": [
            {
                "id": m.match_id,
                "status": convert.MATCH_STATUS.get(m.status, "unknown"),
                "createdAt": convert.iso(m.created_at),
                "closedAt": convert.iso(m.closed_at),
                "organisations": sorted({x.professional.organisation_name for x in m.members}),
            }
            for m in report.matches
        ],
        "coordinators": [
            entry(e, matchId=e.attributes.get("sluis.match_id"), what=_coordination(e))
            for e in report.coordinators
        ],
        "objections": [
            entry(e, outcome="upheld", what=e.name, signalId=e.attributes.get("sluis.signal_id"))
            for e in report.objections
        ],
        "refusedLookUps": [entry(e, channel=e.channel) for e in report.refused],
        "rightsRequests": [
            {
                "at": _iso(e.at),
                "what": _rights_action(e),
                "kind": e.attributes.get("sluis.kind"),
                "status": e.attributes.get("sluis.status"),
                "decision": e.attributes.get("sluis.decision"),
            }
            for e in report.rights_requests
        ],
        "deaths": [{"at": _iso(e.at)} for e in report.deaths if e.name == "death.record"],
        "municipalityLookUps": [
            {"at": _iso(e.at), "what": _LOOKUP.get(e.name, e.name)} for e in report.lookups
        ],
    }


# What a disclosure line means, in Dutch for the citizen.
_DISCLOSED = {
    "match.involvement": "wie er bij u betrokken is (opgevraagd)",
    "match.get": "de match en wie er bij u betrokken is",
    "match.list": "de match in een overzicht",
    "match.notice": "bericht over de match met wie er bij u betrokken is",
    "notify.mail_sent": "e-mail over de match met wie er bij u betrokken is (verstuurd)",
    "notify.webhook_delivered": "bericht aan het systeem van de organisatie over de match (afgeleverd)",
    "notify.inbox_item": "bericht in de SluiS-inbox over de match",
    "notify.inbox_item_read": "bericht in de SluiS-inbox over de match (geopend)",
}
# Coordinator actions and answers (match.coordination lines), in Dutch for the citizen.
_COORDINATION = {
    ("take_coordinator", ""): "nam of vroeg de matchregie",
    ("hand_over_coordinator", ""): "droeg de matchregie over",
    ("accept_coordinator", "accepted"): "aanvaardde de matchregie",
    ("decline_coordinator", "declined"): "weigerde de matchregie",
    ("respond_takeover", "accepted"): "stemde in met overname van de matchregie",
    ("respond_takeover", "declined"): "weigerde overname van de matchregie",
}


def _coordination(e: access.LogEntry) -> str:
    if e.name == "match.coordinator":
        return "werd matchregisseur"
    key = (e.attributes.get("sluis.action", ""), e.attributes.get("sluis.answer", ""))
    return _COORDINATION.get(key, "matchregie")


_RIGHTS_KIND = {"access": "inzage", "objection": "bezwaar", "restriction": "beperking van de verwerking"}
_RIGHTS_ACTION = {
    "create": "verzoek om {kind} ontvangen",
    "start": "verzoek om {kind} in behandeling genomen",
    "extend": "termijn van het verzoek om {kind} verlengd",
    "restrict": "verwerking beperkt (verzoek om {kind})",
    "lift_restriction": "beperking van de verwerking opgeheven (verzoek om {kind})",
    "decide": "besluit op het verzoek om {kind}: {decision}",
}


def _rights_action(e: access.LogEntry) -> str:
    kind = _RIGHTS_KIND.get(e.attributes.get("sluis.kind", ""), "")
    decision = {"upheld": "toegekend", "rejected": "afgewezen"}.get(
        e.attributes.get("sluis.decision", ""), ""
    )
    text = _RIGHTS_ACTION.get(e.attributes.get("sluis.action", ""), "verzoek")
    return text.format(kind=kind, decision=decision)


_LOOKUP = {
    "signal.region_lookup": "signalen opgezocht door de regiobeheerder",
    "match.region_lookup": "matches opgezocht door de regiobeheerder",
    "access.request": "inzageverzoek",
}


def _current_signal(s: Any) -> dict[str, Any]:
    data = convert.signal_json(s)
    return {
        "activeUntil": convert.iso(s.active_until),
        "legalBasis": data["legalBasis"],
        "legalGround": s.legal_ground,
        "informed": convert.informed_json(s.informed),
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
