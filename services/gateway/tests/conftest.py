import dataclasses

import pytest

from services.gateway.app import create_app
from services.gateway.backends import Backends
from services.gateway.demo import seed_demo
from services.gateway.server import MIGRATIONS
from services.gateway.settings import GatewaySettings
from services.gateway.tests.fakes import FakeBackends


@pytest.fixture
def fakes(run_service):
    fake = FakeBackends()
    svc = run_service(fake.create)
    fake.address = svc.address
    return fake


@pytest.fixture
def gateway_db(new_database):
    return new_database("gateway", MIGRATIONS)


@pytest.fixture
def demo(gateway_db):
    return seed_demo(gateway_db, "test")


@pytest.fixture
def settings(gateway_db, fakes):
    return GatewaySettings(
        region="test",
        database_url=gateway_db,
        identity_addr=fakes.address,
        signal_addr=fakes.address,
        match_addr=fakes.address,
        notify_addr=fakes.address,
        rpc_timeout_seconds=5.0,
        log_level="WARNING",
    )


@pytest.fixture
def app(settings, demo):
    application = create_app(settings, Backends.from_settings(settings))
    yield application
    close_app(application)


def close_app(application) -> None:
    gw = application.extensions["sluis_gateway"]
    invalidations = application.extensions.get("sluis_auth_invalidations")
    if invalidations is not None:
        invalidations.stop()
    gw.backends.close()
    gw.store.pool.close()


@pytest.fixture
def client(app):
    return app.test_client()


def key_of(demo, name_prefix: str) -> str:
    for pro in demo["professionals"]:
        if pro["name"].lower().startswith(name_prefix.lower()):
            return str(pro["apiKey"])
    raise KeyError(name_prefix)


@pytest.fixture
def auth(demo):
    def headers(who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key_of(demo, who)}", **extra}

    return headers


def replace(settings: GatewaySettings, **changes):
    return dataclasses.replace(settings, **changes)
