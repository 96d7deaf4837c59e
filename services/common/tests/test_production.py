"""Issue 13: in production a service that keeps a processing log refuses to start without
SLUIS_PROCESSING_LOG_KEY (the fallback is a public development key); development (make run,
the tests) keeps the fallback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common import processing_log
from services.common.config import ConfigError, from_env, require_in_production
from services.gateway.server import MIGRATIONS as GATEWAY_MIGRATIONS
from services.gateway.settings import GatewaySettings
from services.identity.server import MIGRATIONS as IDENTITY_MIGRATIONS
from services.match.server import MIGRATIONS as MATCH_MIGRATIONS
from services.signal.server import MIGRATIONS as SIGNAL_MIGRATIONS
from services.signal.server import SignalSettings

ROOT = Path(__file__).resolve().parents[3]
KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes, base64


def test_production_refuses_an_empty_log_key() -> None:
    with pytest.raises(ConfigError) as caught:
        require_in_production("production", {"SLUIS_PROCESSING_LOG_KEY": ""})
    assert "SLUIS_PROCESSING_LOG_KEY is required in production" in str(caught.value)
    require_in_production("production", {"SLUIS_PROCESSING_LOG_KEY": KEY})


def test_development_keeps_the_fallback() -> None:
    require_in_production("development", {"SLUIS_PROCESSING_LOG_KEY": ""})


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="SLUIS_ENVIRONMENT: expected production or development"):
        require_in_production("prod", {})


def test_unset_means_development_as_make_run_and_the_tests_start() -> None:
    required = {"SLUIS_REGION": "r", "SLUIS_DATABASE_URL": "postgresql://x"}
    addresses = {f"SLUIS_{name}_ADDR": "127.0.0.1:1" for name in ("IDENTITY", "MATCH", "NOTIFY")}
    settings = from_env(SignalSettings, {**required, **addresses})
    assert settings.environment == "development" and settings.processing_log_key == ""
    gateway = from_env(GatewaySettings, required)
    assert gateway.environment == "development"
    # devstack starts the services with `python -m`, without SLUIS_ENVIRONMENT
    assert "SLUIS_ENVIRONMENT" not in (ROOT / "devstack" / "platform.py").read_text("utf-8")


def test_the_services_that_keep_a_log_are_the_ones_checked() -> None:
    for migrations in (SIGNAL_MIGRATIONS, MATCH_MIGRATIONS, GATEWAY_MIGRATIONS):
        assert processing_log.MIGRATIONS in migrations
    assert processing_log.MIGRATIONS not in IDENTITY_MIGRATIONS


def _start(service: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("SLUIS_") and not k.startswith("OTEL_")
    }
    environ.update(
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'build' / 'gen'}",
        SLUIS_REGION="test",
        # nothing listens here: a refused start must not get as far as the database
        SLUIS_DATABASE_URL="postgresql://sluis@127.0.0.1:1/none?connect_timeout=1",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("service", ["signal", "match", "gateway"])
def test_a_service_with_a_log_does_not_start_in_production_without_the_key(service: str) -> None:
    backends = {f"SLUIS_{name}_ADDR": "127.0.0.1:1" for name in ("IDENTITY", "SIGNAL", "MATCH", "NOTIFY")}
    result = _start(service, "serve", SLUIS_ENVIRONMENT="production", **backends)
    assert result.returncode == 2, result.stderr
    assert "SLUIS_PROCESSING_LOG_KEY is required in production" in result.stderr
    assert "SLUIS_ENVIRONMENT=development" in result.stderr  # the way out for a test installation


def test_the_gateway_bulk_worker_is_checked_too() -> None:
    backends = {f"SLUIS_{name}_ADDR": "127.0.0.1:1" for name in ("IDENTITY", "SIGNAL", "MATCH", "NOTIFY")}
    result = _start("gateway", "bulk-worker", SLUIS_ENVIRONMENT="production", **backends)
    assert result.returncode == 2
    assert "SLUIS_PROCESSING_LOG_KEY is required in production" in result.stderr
