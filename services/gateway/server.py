"""Serving the gateway: gunicorn (gthread workers) run programmatically, and the migrations.

The app is built in each worker after the fork (no preload), so every worker opens its own
database pool and gRPC channels.
"""

import json
from pathlib import Path
from typing import Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine, UnsupportedTransferCoding
from gunicorn.workers.gthread import ThreadWorker

from services.common import processing_log
from services.common.errors import problem
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

MIGRATIONS = [processing_log.MIGRATIONS, Path(__file__).parent / "migrations"]


def _json_logging(level: str) -> dict[str, Any]:
    """gunicorn's own lines (start, worker boot, timeouts) as JSON, like every other line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "formatters": {"json": {"()": "services.common.logs.JsonFormatter", "service": "gateway"}},
    }


# Requests gunicorn refuses before the app sees them: (status, reason code, Dutch detail).
_REFUSALS: list[tuple[type[Exception], int, str, str]] = [
    (LimitRequestLine, 414, "uri_too_long", "De URL is te lang."),
    (LimitRequestHeaders, 431, "headers_too_large", "De headers van het verzoek zijn te groot."),
    (
        UnsupportedTransferCoding,
        501,
        "transfer_coding_unsupported",
        "Deze Transfer-Encoding wordt niet ondersteund.",
    ),
]
_PHRASES = {
    400: "Bad Request",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


def refusal_of(exc: BaseException) -> tuple[int, str, str]:
    """What a request gunicorn could not parse gets: problem+json like every other refusal."""
    for kind, status, reason, detail in _REFUSALS:
        if isinstance(exc, kind):
            return status, reason, detail
    if type(exc).__module__.startswith("gunicorn.http"):
        return 400, "bad_request", "Het verzoek is ongeldig."
    return 500, "internal", "Er ging iets mis in SluiS. Probeer het later opnieuw."


class ProblemWorker(ThreadWorker):
    """gunicorn's gthread worker, answering unparseable requests with problem+json, not HTML."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, reason, detail = refusal_of(exc)
        if status >= 500:
            self.log.exception("error handling request")
        else:
            self.log.warning("refused request: %s", reason)
        body = json.dumps(problem(status, detail, reason)).encode()
        head = (
            f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("could not send the refusal")


class GatewayServer(BaseApplication):
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        for key, value in {
            "bind": s.http_listen,
            "workers": s.http_workers,
            "threads": s.http_threads,
            "worker_class": "services.gateway.server.ProblemWorker",
            "preload_app": False,
            "graceful_timeout": max(1, int(s.shutdown_grace_seconds)),
            # Bulk uploads stream large bodies; requests have their own deadlines downstream.
            "timeout": 120,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": s.log_level.lower(),
            "logconfig_dict": _json_logging(s.log_level.upper()),
            "limit_request_line": 4094,
            "forwarded_allow_ips": "127.0.0.1",
        }.items():
            # gunicorn validates settings as if they came from its command line.
            plain = value is None or isinstance(value, bool | dict)
            self.cfg.set(key, value if plain else str(value))

    def load(self) -> Any:
        return create_app(self.settings)


def serve(settings: GatewaySettings) -> None:
    """Serve until SIGTERM (gunicorn drains the workers gracefully)."""
    settings.check_backends()
    GatewayServer(settings).run()
