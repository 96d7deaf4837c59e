"""The Flask application factory: routes, the auth hook, the one error handler, logs, traces."""

import atexit
import logging
import math
import secrets
import time
from typing import Any

import grpc
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from services.common import telemetry
from services.common.clock import Clock, SystemClock
from services.common.errors import DomainError, from_rpc_error, http_status, problem
from services.common.logs import setup_logging
from services.gateway import auth, idempotency
from services.gateway.api import API_VERSION, PREFIX, Gateway, HttpProblem
from services.gateway.backends import Backends
from services.gateway.limits import rate_limiter
from services.gateway.settings import GatewaySettings
from services.gateway.store import GatewayStore, open_pool

log = logging.getLogger("sluis.gateway")

# HTTP errors raised by Flask/Werkzeug itself (routing, limits): stable codes, Dutch detail.
_HTTP_REASONS: dict[int, tuple[str, str]] = {
    404: ("not_found", "Deze URL bestaat niet."),
    405: ("method_not_allowed", "Deze methode is niet toegestaan op deze URL."),
    413: ("request_too_large", "Het verzoek is te groot."),
    415: ("unsupported_media_type", "Dit mediatype wordt niet ondersteund."),
}


# On every response, API and portal alike.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _is_local(listen: str) -> bool:
    host = listen.rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost", "[::1]")


def _shared_secret(store: GatewayStore) -> str:
    try:
        return store.web_secret()
    except Exception:
        # Database without migration 003 (or down): sessions work within this process only.
        log.warning("no shared portal secret; using a per-process key", exc_info=True)
        return secrets.token_hex(32)


def problem_response(status: int, detail: str, reason: str, extra: dict[str, Any] | None = None) -> Response:
    response = jsonify(problem(status, detail, reason, extra))
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def render_error(exc: Exception) -> Response:
    """THE error handler: domain errors (local or from a back end), HTTP errors, bugs.

    Portal pages get the same decisions rendered as a Dutch HTML page (web.render_error)."""
    from services.gateway import web

    if web.wants_html():
        return web.render_error(exc)
    if isinstance(exc, grpc.RpcError):
        exc = from_rpc_error(exc)
    if isinstance(exc, HttpProblem):
        response = problem_response(exc.status, exc.detail, exc.reason, _extra(exc))
        if exc.status == 429 and "retry_after" in exc.metadata:
            response.headers["Retry-After"] = exc.metadata["retry_after"]
        return response
    if isinstance(exc, DomainError):
        status = http_status(exc)
        if status >= 500 and status != 503:
            log.error("back-end error", extra={"reason": exc.reason, "grpc_code": exc.code.name})
            return problem_response(500, "Er ging iets mis in SluiS. Probeer het later opnieuw.", "internal")
        response = problem_response(status, exc.detail, exc.reason, _extra(exc))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="sluis"' + (
                ', error="invalid_token"' if exc.reason == "invalid_credentials" else ""
            )
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        reason, detail = _HTTP_REASONS.get(status, ("http_error", exc.description or "Fout."))
        response = problem_response(status, detail, reason)
        if status == 405:
            for key, value in exc.get_headers():
                if key.lower() == "allow":
                    response.headers["Allow"] = value
        return response
    log.exception("unhandled error", extra={"endpoint": request.endpoint})
    return problem_response(500, "Er ging iets mis in SluiS. Probeer het later opnieuw.", "internal")


def _extra(err: DomainError) -> dict[str, Any] | None:
    """Machine-readable extras: the invalid field, the existing signal of a duplicate."""
    extra: dict[str, Any] = {}
    if "field" in err.metadata:
        extra["invalidParams"] = [{"name": err.metadata["field"], "reason": err.detail}]
    if "existing_signal_id" in err.metadata:
        extra["existingSignal"] = {"href": f"{PREFIX}/signals/{err.metadata['existing_signal_id']}"}
    return extra or None


def create_app(
    settings: GatewaySettings,
    backends: Backends | None = None,
    *,
    clock: Clock | None = None,
    store: GatewayStore | None = None,
) -> Flask:
    """The gateway app. Opens its own pool; back-end channels open lazily on first use."""
    setup_logging("gateway", settings.log_level)
    telemetry.setup_telemetry("gateway", settings.region, settings.otel_endpoint)
    app = Flask("sluis-gateway")
    store = store or GatewayStore(open_pool(settings.database_url, max_size=settings.db_pool_max))
    # Every gunicorn worker must sign portal sessions with the same key: without
    # SLUIS_SECRET_KEY it is created once in the gateway database.
    app.config["SECRET_KEY"] = settings.secret_key or _shared_secret(store)
    app.config.update(
        SESSION_COOKIE_NAME="sluis_sessie",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not _is_local(settings.http_listen),
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = True
    # First, so its span exists before our own hooks run (and possibly refuse).
    try:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app, excluded_urls="healthz,readyz")
    except Exception:
        log.warning("flask instrumentation unavailable", exc_info=True)
    gw = Gateway(
        settings=settings,
        store=store,
        backends=backends or Backends.from_settings(settings),
        clock=clock or SystemClock(),
    )
    app.extensions["sluis_gateway"] = gw
    limiter = rate_limiter(settings.redis_url, settings.rate_limit_per_second, settings.rate_limit_burst)

    from services.gateway.api import admin, inbox, lifecycle, matches, meta, signals
    from services.gateway.api import bulk as bulk_api
    from services.gateway.web import bp as web_bp

    app.register_blueprint(meta.bp)
    for bp in (signals.bp, matches.bp, inbox.bp, admin.bp, bulk_api.bp, lifecycle.bp):
        app.register_blueprint(bp, url_prefix=PREFIX)
    app.register_blueprint(web_bp)

    app.register_error_handler(Exception, render_error)

    @app.before_request
    def authenticate() -> Response | None:
        g.started = time.perf_counter()
        g.principal = None
        endpoint = request.endpoint
        if endpoint is not None and endpoint.startswith("web."):
            from services.gateway import web

            web.guard(endpoint)
            return None
        if auth.is_public(endpoint):
            return None
        g.principal = auth.authenticate(
            gw.store,
            settings.region,
            request.headers.get("Authorization"),
            request.headers.get("X-Professional-Id"),
        )
        auth.authorise(endpoint, g.principal)
        wait = limiter.wait_seconds(str(g.principal.credential_id))
        if wait > 0:
            raise HttpProblem(
                429,
                "rate_limited",
                "Te veel verzoeken met deze API-sleutel. Probeer het zo opnieuw.",
                retry_after=str(max(1, math.ceil(wait))),
            )
        if endpoint in auth.LARGE_BODIES:
            request.max_content_length = settings.max_bulk_bytes
        return idempotency.begin(gw.store, g.principal)

    @app.after_request
    def finish(response: Response) -> Response:
        response = idempotency.finish(gw.store, response)
        response.headers["API-Version"] = API_VERSION
        response.headers.setdefault("Cache-Control", "no-store")
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        who = g.get("principal")
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else "",
                "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                "credential": str(who.credential_id) if who else "",
                "role": who.role if who else "",
            },
        )
        return response

    if settings.bulk_worker:
        from services.gateway.bulk import BulkWorker

        worker = BulkWorker(
            gw,
            chunk_rows=settings.bulk_chunk_rows,
            stale_seconds=settings.bulk_stale_seconds,
            inflight=settings.bulk_inflight,
        ).start()
        app.extensions["sluis_bulk_worker"] = worker
        atexit.register(worker.stop)
    return app
