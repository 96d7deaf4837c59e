"""Sync gRPC clients of the four back-end services, one channel each per process.

Channels are created lazily, on first use, so gunicorn workers open their own after the
fork (gRPC channels must not cross a fork). Every call passes `timeout=`.
"""

import threading
from typing import Any

import grpc
from sluis.identity.v1 import identity_pb2_grpc
from sluis.match.v1 import match_pb2_grpc
from sluis.notify.v1 import notify_pb2_grpc
from sluis.signal.v1 import signal_pb2_grpc

from services.common import clients
from services.gateway.settings import GatewaySettings


class Backends:
    """Stubs for identity, signal, match and notify; `timeout` goes on every call."""

    def __init__(
        self,
        *,
        identity_addr: str,
        signal_addr: str,
        match_addr: str,
        notify_addr: str,
        timeout: float = 5.0,
    ) -> None:
        self.addresses = {
            "identity": identity_addr,
            "signal": signal_addr,
            "match": match_addr,
            "notify": notify_addr,
        }
        self.timeout = timeout
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "Backends":
        return cls(
            identity_addr=settings.identity_addr,
            signal_addr=settings.signal_addr,
            match_addr=settings.match_addr,
            notify_addr=settings.notify_addr,
            timeout=settings.rpc_timeout_seconds,
        )

    def _stub(self, name: str, factory: Any) -> Any:
        stub = self._stubs.get(name)
        if stub is None:
            with self._lock:
                stub = self._stubs.get(name)
                if stub is None:
                    channel = clients.sync_channel(self.addresses[name])
                    self._channels[name] = channel
                    stub = self._stubs[name] = factory(channel)
        return stub

    @property
    def identity(self) -> identity_pb2_grpc.IdentityServiceStub:
        stub: identity_pb2_grpc.IdentityServiceStub = self._stub(
            "identity", identity_pb2_grpc.IdentityServiceStub
        )
        return stub

    @property
    def signal(self) -> signal_pb2_grpc.SignalServiceStub:
        stub: signal_pb2_grpc.SignalServiceStub = self._stub("signal", signal_pb2_grpc.SignalServiceStub)
        return stub

    @property
    def match(self) -> match_pb2_grpc.MatchServiceStub:
        stub: match_pb2_grpc.MatchServiceStub = self._stub("match", match_pb2_grpc.MatchServiceStub)
        return stub

    @property
    def notify(self) -> notify_pb2_grpc.NotifyServiceStub:
        stub: notify_pb2_grpc.NotifyServiceStub = self._stub("notify", notify_pb2_grpc.NotifyServiceStub)
        return stub

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._stubs.clear()
