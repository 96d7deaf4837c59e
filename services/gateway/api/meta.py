"""Probes and the published OpenAPI document (no authentication)."""

from flask import Blueprint, Response

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
