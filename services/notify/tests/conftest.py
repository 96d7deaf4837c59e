from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from sluis.notify.v1 import notify_pb2_grpc as pb_grpc

from services.notify.server import MIGRATIONS, NotifySettings, create_service


class Notify:
    """A running notify service: stub, the ServiceThread, and the servicer for scheduled jobs."""

    def __init__(self, svc: Any, stub: pb_grpc.NotifyServiceStub, settings: NotifySettings) -> None:
        self.svc = svc
        self.stub = stub
        self.settings = settings

    @property
    def servicer(self) -> Any:
        return self.svc.service.notify

    def stats(self) -> dict[tuple[str, str], int]:
        from sluis.notify.v1 import notify_pb2 as pb

        resp = self.stub.GetDeliveryStats(pb.GetDeliveryStatsRequest(), timeout=5)
        return {(c.channel, c.state): c.count for c in resp.counts}


@pytest.fixture
def start_notify(new_database, run_service) -> Iterator[Callable[..., Notify]]:
    channels: list[grpc.Channel] = []

    def start(smtp_port: int, *, clock: Any = None, url: str | None = None, **overrides: Any) -> Notify:
        values: dict[str, Any] = {
            "region": "test",
            "database_url": url or new_database("notify", MIGRATIONS),
            "grpc_listen": "127.0.0.1:0",
            "smtp_port": smtp_port,
            "poll_seconds": 0.2,
            "retry_base_seconds": 0.05,
            "retry_cap_seconds": 0.5,
            "portal_url": "https://portal.sluis.example",
            # The test webhook receivers listen on 127.0.0.1, which the SSRF guard refuses
            # unless the operator allows it: these tests allow exactly that address.
            "webhook_allow_networks": ("127.0.0.1/32",),
        }
        values.update(overrides)
        settings = NotifySettings(**values)
        svc = run_service(lambda: create_service(settings, clock=clock))
        channel = grpc.insecure_channel(svc.address)
        channels.append(channel)
        return Notify(svc, pb_grpc.NotifyServiceStub(channel), settings)

    yield start
    for channel in channels:
        channel.close()


@pytest.fixture
def notify(start_notify, smtp_server) -> Notify:
    return start_notify(smtp_server.port)
