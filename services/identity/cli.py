"""Operator commands of the identity service.

    python -m services.identity rotate start|status|finish [ROTATION_ID]
    python -m services.identity exchange-key      # new exchange key pair for translation
    python -m services.identity init              # key version 1 on a NEW installation
    python -m services.identity rewrap            # wrap every key under the newest KEK
    python -m services.identity backfill FILE     # BSN vault back-fill (services/identity/backfill.py)

`init` and `rewrap` work on the database directly (SLUIS_DATABASE_URL, the KEK settings):
identity refuses to start on an empty key table, so a wrong database or a botched restore
is an error instead of silently new pseudonyms (docs/operations.md, "identity's keys").

`rotate` talks to the running identity service at SLUIS_IDENTITY_ADDR (host:port). It prints
one JSON object per command, so it can be scripted in a Kubernetes Job.
"""

import base64
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.clients import channel_credentials, tls_settings
from services.common.errors import from_rpc_error
from services.common.protos import from_timestamp
from services.identity import domain

if TYPE_CHECKING:
    from services.identity.server import IdentitySettings

USAGE = (
    "usage: python -m services.identity rotate start|status|finish [ROTATION_ID]"
    " | exchange-key | init | rewrap | backfill FILE"
)
COMMANDS = ("rotate", "exchange-key", "init", "rewrap", "backfill")


def rotation_json(rotation: pb.Rotation) -> dict[str, Any]:
    def moment(ts: Any) -> str | None:
        value = from_timestamp(ts)
        return value.isoformat() if value else None

    return {
        "rotation_id": rotation.rotation_id,
        "from_key_version": rotation.from_key_version,
        "to_key_version": rotation.to_key_version,
        "state": pb.RotationState.Name(rotation.state),
        "started_at": moment(rotation.started_at),
        "switch_at": moment(rotation.switch_at),
        "finished_at": moment(rotation.finished_at),
    }


def rotate(action: str, rotation_id: str, address: str, timeout: float = 10.0) -> dict[str, Any]:
    """Run one rotation command against the identity service; the rotation as a dict."""
    # No tracing needed for an operator command; mutual TLS when the pod has certificates
    # (they name "localhost", so `kubectl exec ... localhost:50051` passes the host check).
    tls = tls_settings()
    with (
        grpc.secure_channel(address, channel_credentials(tls))
        if tls.enabled
        else grpc.insecure_channel(address)
    ) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        if action == "start":
            rotation = stub.StartRotation(pb.StartRotationRequest(), timeout=timeout).rotation
        elif action == "status":
            rotation = stub.GetRotation(
                pb.GetRotationRequest(rotation_id=rotation_id), timeout=timeout
            ).rotation
        elif action == "finish":
            rotation = stub.FinishRotation(
                pb.FinishRotationRequest(rotation_id=rotation_id), timeout=timeout
            ).rotation
        else:
            raise ValueError(action)
    result = rotation_json(rotation)
    if action == "status":
        # Whether identity issues the new key version yet. Re-key progress is in the stores'
        # logs ("re-key progress": remaining, outbox_pending), see docs/operations.md.
        switch_at = from_timestamp(rotation.switch_at)
        result["switched"] = switch_at is not None and switch_at <= datetime.now(UTC)
    return result


def exchange_key() -> dict[str, str]:
    """A new exchange key pair: the private half goes into this region's Secret
    (SLUIS_IDENTITY_EXCHANGE_KEY), the public half to the peer region's operators."""
    private = domain.new_scalar()
    return {
        "SLUIS_IDENTITY_EXCHANGE_KEY": base64.b64encode(private).decode(),
        "public_key": base64.b64encode(domain.exchange_public_key(private)).decode(),
    }


def _settings() -> "tuple[IdentitySettings, dict[int, bytes]] | None":
    """identity's settings and KEK versions from the environment; None (reported) when wrong."""
    from services.common.config import ConfigError, from_env
    from services.identity.server import IdentitySettings

    try:
        settings = from_env(IdentitySettings)
        return settings, settings.keks()
    except ConfigError as exc:
        print(f"sluis-identity: configuration error: {exc}", file=sys.stderr)
        return None


def _database_command(command: str) -> int:
    from services.identity.store import initialise_keys, rewrap_keys

    found = _settings()
    if found is None:
        return 2
    settings, keks = found
    if command == "init":
        created = initialise_keys(settings.database_url, keks[max(keks)])
        print(json.dumps({"initialised": created, "kek_version": max(keks)}))
        return 0
    try:
        keys, vault = rewrap_keys(settings.database_url, keks)
    except RuntimeError as exc:
        print(json.dumps({"error": "kek_unknown", "detail": str(exc)}), file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "kek_version": max(keks),
                "keys_by_previous_kek_version": keys,
                "vault_rows_by_previous_kek_version": vault,
            }
        )
    )
    return 0


def _backfill(path: str) -> int:
    import asyncio

    from services.identity.backfill import backfill

    address = os.environ.get("SLUIS_SIGNAL_ADDR", "")
    if not path or not address:
        print(
            "usage: SLUIS_SIGNAL_ADDR=host:port python -m services.identity backfill FILE|-", file=sys.stderr
        )
        return 2
    found = _settings()
    if found is None:
        return 2
    settings, keks = found
    try:
        if path == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        counts = asyncio.run(backfill(settings.database_url, keks, address, lines, datetime.now(UTC)))
    except grpc.RpcError as exc:
        error = from_rpc_error(exc)
        print(json.dumps({"error": error.reason, "detail": error.detail}), file=sys.stderr)
        return 1
    except OSError as exc:
        print(json.dumps({"error": "file_unreadable", "detail": exc.strerror or ""}), file=sys.stderr)
        return 1
    print(json.dumps(counts))
    return 0


def run(argv: Sequence[str]) -> int:
    """Entry point for the operator commands; returns the exit status."""
    args = list(argv)
    if args[:1] == ["backfill"]:
        return _backfill(args[1] if len(args) > 1 else "")
    if args[:1] in (["init"], ["rewrap"]):
        return _database_command(args[0])
    if args[:1] == ["exchange-key"]:
        print(json.dumps(exchange_key(), indent=2))
        return 0
    if len(args) < 2 or args[0] != "rotate" or args[1] not in ("start", "status", "finish"):
        print(USAGE, file=sys.stderr)
        return 2
    address = os.environ.get("SLUIS_IDENTITY_ADDR", "")
    if not address:
        print("SLUIS_IDENTITY_ADDR is required (host:port of the identity service)", file=sys.stderr)
        return 2
    try:
        result = rotate(args[1], args[2] if len(args) > 2 else "", address)
    except grpc.RpcError as exc:
        error = from_rpc_error(exc)
        print(json.dumps({"error": error.reason, "detail": error.detail}), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
