"""Fixtures: the real signal service on a fresh database, with recording fakes of match and notify
(services/signal/tests/helpers.py)."""

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from sluis.signal.v1 import signal_pb2_grpc as pb_grpc

from devstack.redis import free_port
from services.common.clock import FrozenClock
from services.signal.server import MIGRATIONS, SignalSettings, create_service
from services.signal.tests.helpers import START, Recorder, SignalHarness, start_fake


@pytest.fixture
def make_signal_service(
    new_database: Callable[..., str], run_service: Callable[..., Any]
) -> Iterator[Callable[..., SignalHarness]]:
    channels: list[grpc.Channel] = []

    def make(
        *,
        match_port: int | None = None,
        start_match: bool = True,
        start_notify: bool = True,
        lifecycle_interval_seconds: float = 0,
        lifecycle_batch_size: int = 5000,
        informing_reminder_days: int = 14,
    ) -> SignalHarness:
        url = new_database("signal", MIGRATIONS)
        match, notify = Recorder(), Recorder()
        # A fake that starts now binds any free port and reports it; only a fake that starts
        # later (a receiver that is down for a while) needs a port reserved in advance.
        if start_match:
            match_port = start_fake(run_service, "match", match, match_port or 0).port
        else:
            match_port = match_port or free_port()
        notify_port = start_fake(run_service, "notify", notify).port if start_notify else free_port()
        clock = FrozenClock(START)
        settings = SignalSettings(
            region="test",
            database_url=url,
            grpc_listen="127.0.0.1:0",
            match_addr=f"127.0.0.1:{match_port}",
            notify_addr=f"127.0.0.1:{notify_port}",
            lifecycle_interval_seconds=lifecycle_interval_seconds,
            lifecycle_batch_size=lifecycle_batch_size,
            informing_reminder_days=informing_reminder_days,
            rpc_timeout_seconds=2.0,
            db_pool_max=4,
        )
        svc = run_service(lambda: create_service(settings, clock=clock))
        channel = grpc.insecure_channel(svc.address)
        channels.append(channel)
        return SignalHarness(pb_grpc.SignalServiceStub(channel), clock, url, match, notify, svc)

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture
def signals(make_signal_service: Callable[..., SignalHarness]) -> SignalHarness:
    return make_signal_service()
