"""Signal, match and notify in-process on one injected clock (tests/test_time_travel.py,
tests/test_family_turning_18.py): real aio gRPC servers on free ports, each its own
PostgreSQL database, notify mailing to the test's SMTP server. Jobs that the tests drive
themselves (lifecycle, retention) are not scheduled."""

from collections.abc import Awaitable, Callable
from typing import Any

from devstack.fixtures import ServiceThread
from services.common.clock import Clock
from services.match.server import MatchSettings
from services.match.server import create_service as create_match
from services.notify.server import NotifySettings
from services.notify.server import create_service as create_notify
from services.signal.server import SignalSettings
from services.signal.server import create_service as create_signal

RunService = Callable[[Callable[[], Awaitable[Any]]], ServiceThread]


def start_back_ends(
    run_service: RunService,
    urls: dict[str, str],
    clock: Clock,
    smtp_port: int,
    *,
    identity_addr: str = "",
    family_refresh_seconds: float = 3600.0,
) -> dict[str, ServiceThread]:
    """notify, match and signal (receivers first), by name."""
    notify = run_service(
        lambda: create_notify(
            NotifySettings(
                region="test",
                database_url=urls["notify"],
                grpc_listen="127.0.0.1:0",
                smtp_port=smtp_port,
                poll_seconds=0.2,
                retention_interval_seconds=0,
            ),
            clock=clock,
        )
    )
    match = run_service(
        lambda: create_match(
            MatchSettings(
                region="test",
                database_url=urls["match"],
                grpc_listen="127.0.0.1:0",
                notify_addr=notify.address,
                notice_delay_seconds=0,
                retention_interval_seconds=0,
                family_refresh_seconds=family_refresh_seconds,
            ),
            clock=clock,
        )
    )
    signal = run_service(
        lambda: create_signal(
            SignalSettings(
                region="test",
                database_url=urls["signal"],
                grpc_listen="127.0.0.1:0",
                match_addr=match.address,
                notify_addr=notify.address,
                identity_addr=identity_addr,
                lifecycle_interval_seconds=0,
            ),
            clock=clock,
        )
    )
    return {"notify": notify, "match": match, "signal": signal}
