"""Probes and the published OpenAPI document (no authentication)."""

from flask import Blueprint, Response

from services.common.processing_log import ACTIVITY_URI
from services.common.processing_register import register
from services.gateway.api import ok
from services.gateway.openapi import openapi_document
from services.gateway.usecases import gateway

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return ok({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: the gateway database is reachable (back ends have their own probes)."""
    if gateway().store.ping():
        return ok({"status": "ready"})
    return ok({"status": "database unreachable"}, 503)


@bp.get("/v1/openapi.json")
def openapi() -> Response:
    return ok(openapi_document())


@bp.get("/v1/processing-activities")
def processing_activities() -> Response:
    """The register of processing activities (verwerkingsregister) the processing log points into."""
    reg = register()
    return ok(
        {
            "controller": reg.controller,
            "activities": [
                {
                    "id": a.id,
                    "uri": ACTIVITY_URI + a.id,
                    "name": a.name,
                    "purpose": a.purpose,
                    "legalBasis": a.legal_basis,
                    "retention": a.retention,
                    "showsProfessional": a.show_professional,
                }
                for a in reg.activities.values()
            ],
        }
    )
