"""gRPC adapter of the identity service: requests to domain calls and back, nothing more."""

import asyncio
import base64
import binascii
import dataclasses
from pathlib import Path

import grpc
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.config import ConfigError, ServiceSettings, setting
from services.common.db import open_pool
from services.common.errors import FailedPrecondition
from services.common.grpcserver import GrpcService
from services.identity import domain
from services.identity.store import KeyStore

MIGRATIONS = [Path(__file__).parent / "migrations"]
MAX_BATCH = 10_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdentitySettings(ServiceSettings):
    kek: str = setting("SLUIS_IDENTITY_KEK", secret=True)
    peer_regions: tuple[str, ...] = setting("SLUIS_PEER_REGIONS", ())

    def kek_bytes(self) -> bytes:
        try:
            key = base64.b64decode(self.kek, validate=True)
        except binascii.Error:
            raise ConfigError("SLUIS_IDENTITY_KEK must be base64") from None
        if len(key) != 32:
            raise ConfigError("SLUIS_IDENTITY_KEK must be 32 bytes (base64)")
        return key


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self.keys: dict[int, tuple[str, bytes]] = {}

    async def refresh(self) -> None:
        self.keys = await self.store.load()

    def active(self) -> tuple[int, bytes]:
        for version, (state, scalar) in self.keys.items():
            if state == "active":
                return version, scalar
        raise FailedPrecondition("no_active_key", "Er is geen actieve pseudonimiseringssleutel.")

    async def Pseudonymise(
        self, request: pb.PseudonymiseRequest, context: grpc.aio.ServicerContext
    ) -> pb.PseudonymiseResponse:
        version, scalar = self.active()
        p = domain.pseudonymise(request.bsn, version, scalar)
        return pb.PseudonymiseResponse(pseudonym=p.encode(), key_version=version)

    async def PseudonymiseBatch(
        self, request: pb.PseudonymiseBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.PseudonymiseBatchResponse:
        if len(request.bsns) > MAX_BATCH:
            raise domain.InvalidArgument("batch_too_large", f"Maximaal {MAX_BATCH} BSN's per verzoek.")
        version, scalar = self.active()
        results = []
        for bsn in request.bsns:
            reason = domain.bsn_error_reason(bsn)
            if reason:
                results.append(pb.PseudonymiseBatchResult(error_reason=reason))
            else:
                p = domain.pseudonymise(bsn, version, scalar)
                results.append(pb.PseudonymiseBatchResult(pseudonym=p.encode(), key_version=version))
        return pb.PseudonymiseBatchResponse(results=results)

    # Key rotation and cross-region translation: see issue 3 (not yet implemented).
    async def StartRotation(
        self, request: pb.StartRotationRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartRotationResponse:
        raise FailedPrecondition("not_implemented", "Sleutelrotatie is nog niet beschikbaar.")

    async def RekeyPseudonyms(
        self, request: pb.RekeyPseudonymsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RekeyPseudonymsResponse:
        raise FailedPrecondition("not_implemented", "Sleutelrotatie is nog niet beschikbaar.")

    async def GetRotation(
        self, request: pb.GetRotationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRotationResponse:
        raise FailedPrecondition("not_implemented", "Sleutelrotatie is nog niet beschikbaar.")

    async def FinishRotation(
        self, request: pb.FinishRotationRequest, context: grpc.aio.ServicerContext
    ) -> pb.FinishRotationResponse:
        raise FailedPrecondition("not_implemented", "Sleutelrotatie is nog niet beschikbaar.")

    async def TranslatePseudonym(
        self, request: pb.TranslatePseudonymRequest, context: grpc.aio.ServicerContext
    ) -> pb.TranslatePseudonymResponse:
        raise FailedPrecondition("not_implemented", "Vertalen tussen regio's is nog niet beschikbaar.")


async def create_service(settings: IdentitySettings) -> GrpcService:
    service = GrpcService("identity", settings)
    pool = await open_pool(settings.database_url, name="identity", max_size=settings.db_pool_max)
    service.add_closer(pool.close)
    store = KeyStore(pool, settings.kek_bytes())
    await store.ensure_active_key()
    servicer = IdentityServicer(store)
    await servicer.refresh()
    service.add_servicer(
        pb_grpc.add_IdentityServiceServicer_to_server, servicer, "sluis.identity.v1.IdentityService"
    )

    async def refresh_keys() -> None:
        # Replicas pick up key changes (rotation) within seconds.
        while True:
            await asyncio.sleep(5)
            await servicer.refresh()

    service.add_background(refresh_keys)
    return service
