"""A recording fake of NotifyService: a real aio gRPC server, so match's real client path runs."""

import threading
from collections.abc import Callable
from typing import Any

import grpc
from sluis.match.v1 import match_pb2
from sluis.notify.v1 import notify_pb2, notify_pb2_grpc

from services.common.config import ServiceSettings
from services.common.grpcserver import GrpcService


class RecordingNotify(notify_pb2_grpc.NotifyServiceServicer):
    """Keeps every MatchEvent it is sent (including redeliveries) and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[match_pb2.MatchEvent] = []
        self.calls = 0
        self.refused = 0
        self.fail = False
        # Like the real notify: one invalid event refuses the whole call.
        self.invalid: Callable[[match_pb2.MatchEvent], bool] = lambda event: False
        self._lock = threading.Lock()

    async def ApplyMatchEvents(
        self, request: notify_pb2.ApplyMatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.ApplyMatchEventsResponse:
        if self.fail:
            self.refused += 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        if any(self.invalid(e) for e in request.events):
            context.set_trailing_metadata((("sluis-reason", "unknown_recipient"),))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ongeldig")
        with self._lock:
            self.calls += 1
            self.events.extend(request.events)
        return notify_pb2.ApplyMatchEventsResponse(accepted=len(request.events))

    @classmethod
    def create(cls) -> "RecordingNotify":
        # The generated servicer declares every RPC abstract; the base raises UNIMPLEMENTED.
        return cls()

    def snapshot(self) -> list[match_pb2.MatchEvent]:
        with self._lock:
            return list(self.events)

    async def service(self) -> Any:
        settings = ServiceSettings(region="test", database_url="", grpc_listen="127.0.0.1:0")
        svc = GrpcService("fake-notify", settings)
        svc.add_servicer(
            notify_pb2_grpc.add_NotifyServiceServicer_to_server, self, "sluis.notify.v1.NotifyService"
        )
        return svc
