"""Serving the gateway: gunicorn (gthread workers) run programmatically, and the migrations.

The app is built in each worker after the fork (no preload), so every worker opens its own
database pool and gRPC channels.
"""

from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

MIGRATIONS = [Path(__file__).parent / "migrations"]


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
            "worker_class": "gthread",
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
