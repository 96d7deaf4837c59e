"""THE error decision of the gateway: which status, reason, text and headers an exception gets.

Made once here; the REST API renders it as problem+json (app.py), the portal as a Dutch HTML
page (web/errors.py). Back-end errors, local domain errors, HTTP errors and bugs alike.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import grpc
from werkzeug.exceptions import HTTPException

from services.common.db import is_database_outage
from services.common.errors import (
    RETRY_AFTER_SECONDS,
    DomainError,
    database_unavailable,
    from_rpc_error,
    http_status,
)
from services.gateway.convert import PREFIX

log = logging.getLogger("sluis.gateway")

INTERNAL = "Er ging iets mis in SluiS. Probeer het later opnieuw."

# HTTP errors raised by Flask/Werkzeug itself (routing, limits): stable codes, Dutch detail.
HTTP_REASONS: dict[int, tuple[str, str]] = {
    404: ("not_found", "Deze URL bestaat niet."),
    405: ("method_not_allowed", "Deze methode is niet toegestaan op deze URL."),
    413: ("request_too_large", "Het verzoek is te groot."),
    414: ("uri_too_long", "De URL is te lang."),
    415: ("unsupported_media_type", "Dit mediatype wordt niet ondersteund."),
    431: ("headers_too_large", "De headers van het verzoek zijn te groot."),
}


class HttpProblem(DomainError):
    """An HTTP-only refusal (415, 413, 422, 429...) that has no gRPC counterpart."""

    def __init__(self, status: int, reason: str, detail: str, **metadata: str) -> None:
        super().__init__(reason, detail, **metadata)
        self.status = status


@dataclass
class Decision:
    """What the caller is told: the same for API and portal, only the rendering differs."""

    status: int
    reason: str
    detail: str
    extra: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


# The back ends name the rule that refused a request, not the REST field: the field each
# such 400 is about (issue 17: invalidParams on every 400). Others name "body".
FIELD_OF_REASON: dict[str, str] = {
    "bsn_invalid": "bsn",
    "birth_date_format": "birthDate",
    "birth_date_mismatch": "birthDate",
    "birth_date_in_future": "birthDate",
    "birth_date_too_early": "birthDate",
    "informed_on_before_birth": "informed.informedOn",
    "informed_on_in_future": "informed.informedOn",
    "informed_on_invalid": "informed.informedOn",
    "informed_on_missing": "informed.informedOn",
    "informed_method_missing": "informed.method",
    "informed_missing": "informed",
    "informed_conflicting": "informed",
    "informed_party_unknown": "informed.party",
    "informed_party_not_recorded": "informed.party",
    "informed_party_wrong_for_age": "informed.party",
    "representative_reason_wrong_for_age": "informed.representativeReason",
    "guardianship_minor": "underGuardianship",
    "consent_missing": "consentGiven",
    "consent_wrong_party": "consentBy",
    "consent_by_unknown": "consentBy",
    "multi_problem_not_attested": "multiProblemAttested",
    "end_reason_not_allowed": "reason",
}


def _extra(err: DomainError) -> dict[str, Any] | None:
    """Machine-readable extras: the invalid field, the existing signal of a duplicate."""
    extra: dict[str, Any] = {}
    if "field" in err.metadata:
        extra["invalidParams"] = [{"name": err.metadata["field"], "reason": err.detail}]
    if "missing_header" in err.metadata:
        extra["missingHeader"] = err.metadata["missing_header"]
    if "existing_signal_id" in err.metadata:
        extra["existingSignal"] = {"href": f"{PREFIX}/signals/{err.metadata['existing_signal_id']}"}
    return extra or None


def decide(exc: BaseException, endpoint: str | None = None) -> Decision:
    """The decision for any exception a request raised. Never leaks a back end's 5xx text.
    Every 400 names what was wrong in `invalidParams`."""
    decision = _decide(exc, endpoint)
    if decision.status == 400 and "invalidParams" not in (decision.extra or {}):
        name = FIELD_OF_REASON.get(decision.reason, "body")
        decision.extra = {
            **(decision.extra or {}),
            "invalidParams": [{"name": name, "reason": decision.detail}],
        }
    return decision


def _decide(exc: BaseException, endpoint: str | None) -> Decision:
    if isinstance(exc, grpc.RpcError):
        exc = from_rpc_error(exc)
    if is_database_outage(exc):
        exc = database_unavailable()  # the gateway's own database is down: 503, retry later
    if isinstance(exc, HttpProblem):
        decision = Decision(exc.status, exc.reason, exc.detail, _extra(exc))
        if exc.status == 429 and "retry_after" in exc.metadata:
            decision.headers["Retry-After"] = exc.metadata["retry_after"]
        if exc.status == 503:  # busy for now, as for an outage of a back end
            decision.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return decision
    if isinstance(exc, DomainError):
        status = http_status(exc)
        if status >= 500 and status != 503:
            log.error("back-end error", extra={"reason": exc.reason, "grpc_code": exc.code.name})
            return Decision(500, "internal", INTERNAL)
        decision = Decision(status, exc.reason, exc.detail, _extra(exc))
        if status == 401:
            decision.headers["WWW-Authenticate"] = 'Bearer realm="sluis"' + (
                ', error="invalid_token"' if exc.reason == "invalid_credentials" else ""
            )
        if status == 503:
            decision.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return decision
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        reason, detail = HTTP_REASONS.get(status, ("http_error", exc.description or "Fout."))
        decision = Decision(status, reason, detail)
        if status == 405:
            for key, value in exc.get_headers():
                if key.lower() == "allow":
                    decision.headers["Allow"] = value
        return decision
    log.exception("unhandled error", extra={"endpoint": endpoint or ""}, exc_info=exc)
    return Decision(500, "internal", INTERNAL)
