"""The Flask application factory: routes, the auth hook, the one error handler, logs, traces."""

import logging
import math
import secrets
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import metrics, processing_log, telemetry
from services.common.clock import Clock, SystemClock
from services.common.errors import problem
from services.common.logs import setup_logging
from services.gateway import auth, idempotency, web
from services.gateway.api import admin, check_body_envelope, inbox, matches, meta, onboarding, signals
from services.gateway.api import bulk as bulk_api
from services.gateway.api import rights as rights_api
from services.gateway.api import statistics as statistics_api
from services.gateway.authcache import Invalidations
from services.gateway.backends import Backends
from services.gateway.convert import PREFIX
from services.gateway.errors import HttpProblem, decide
from services.gateway.limits import credential_limiter
from services.gateway.openapi import api_version
from services.gateway.settings import GatewaySettings
from services.gateway.staging import staging_keys
from services.gateway.store import GatewayStore, open_pool
from services.gateway.usecases import Gateway

log = logging.getLogger("sluis.gateway")

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
    """THE error handler: the one decision (errors.decide), rendered as problem+json, or as a
    Dutch HTML page for the portal (web.render_error)."""
    if web.wants_html():
        return web.render_error(exc)
    decision = decide(exc, request.endpoint)
    response = problem_response(decision.status, decision.detail, decision.reason, decision.extra)
    response.headers.extend(decision.headers)
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with `Secure` whenever the request came over https
    (also when SESSION_COOKIE_SECURE is off because the gateway listens on loopback)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Any) -> Any:
        # An API call carries no session cookie: a fresh empty session, as Flask would give,
        # without building the signing serializer first (issue 21: on every API request).
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


# The URI of a calling system in the processing log (foreign_operation.entity): the API key
# it called with, under its organisation.
CALLER_URI = "https://sluis.nl/organisaties/{organisation}/koppelingen/{credential}"


def caller_operation(who: auth.Principal) -> processing_log.Foreign:
    """Another organisation's system called the REST API in its own trace (W3C `traceparent`):
    its trace and operation become the foreign operation of every line this request causes,
    here and in the services the gateway calls (carried as baggage)."""
    return processing_log.foreign_from_traceparent(
        request.headers.get("traceparent", ""),
        CALLER_URI.format(organisation=who.organisation_id or "regio", credential=who.credential_id),
    )


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
    processing_log.configure(settings.processing_log_key)
    app = Flask("sluis-gateway")
    store = store or GatewayStore(
        open_pool(
            settings.database_url, max_size=settings.db_pool_max, timeout=settings.db_pool_timeout_seconds
        )
    )
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
    app.session_interface = SessionCookies()
    if settings.trusted_proxies > 0:
        # Only then are X-Forwarded-For/-Proto believed (the client's address and scheme).
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = True
    # First, so its span exists before our own hooks run (and possibly refuse).
    try:
        FlaskInstrumentor().instrument_app(app, excluded_urls="healthz,readyz")
    except Exception:
        log.warning("flask instrumentation unavailable", exc_info=True)
    gw = Gateway(
        settings=settings,
        store=store,
        backends=backends or Backends.from_settings(settings),
        clock=clock or SystemClock(),
        staging=staging_keys(settings.redis_url),
    )
    app.extensions["sluis_gateway"] = gw
    if settings.redis_url:
        # Revocations reach every gateway process at once (services/gateway/authcache.py).
        app.extensions["sluis_auth_invalidations"] = Invalidations(settings.redis_url, store.cache).start()
    limiter = credential_limiter(
        settings.redis_url, settings.rate_limit_per_second, settings.rate_limit_burst
    )

    app.register_blueprint(meta.bp)
    for bp in (
        signals.bp,
        matches.bp,
        inbox.bp,
        admin.bp,
        onboarding.bp,
        bulk_api.bp,
        rights_api.bp,
        statistics_api.bp,
    ):
        app.register_blueprint(bp, url_prefix=PREFIX)
    app.register_blueprint(web.bp)
    # Portal forms only (web.guard calls csrf.protect()); the API uses bearer keys, not cookies.
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=False)
    web.csrf.init_app(app)

    app.register_error_handler(Exception, render_error)
    metrics.instrument_flask(app)

    @app.before_request
    def authenticate() -> Response | None:
        g.started = time.perf_counter()
        g.principal = None
        # No foreign operation unless an authenticated caller names its own (below): what an
        # outside caller put in baggage under our names is dropped here.
        g.otel_tokens = [otel_context.attach(processing_log.with_foreign(processing_log.Foreign()))]
        endpoint = request.endpoint
        if endpoint is not None and endpoint.startswith("web."):
            web.guard(endpoint)
            return None
        if auth.is_public(endpoint):
            return None
        g.principal = auth.authenticate(
            gw.store,
            settings.region,
            request.headers.get("Authorization"),
            request.headers.get(auth.ACTING_FOR_HEADER),
        )
        auth.authorise(endpoint, g.principal)
        foreign = caller_operation(g.principal)
        if foreign.trace_id:
            g.otel_tokens.append(otel_context.attach(processing_log.with_foreign(foreign)))
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
        else:
            check_body_envelope()
        return idempotency.begin(gw.store, g.principal)

    @app.teardown_request
    def leave_context(_exc: BaseException | None) -> None:
        for token in reversed(g.pop("otel_tokens", [])):
            otel_context.detach(token)

    @app.after_request
    def finish(response: Response) -> Response:
        response = idempotency.finish(gw.store, response)
        response.headers["API-Version"] = api_version()
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

    return app
