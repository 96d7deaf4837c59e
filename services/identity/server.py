"""gRPC adapter of the identity service: requests to domain calls and back, nothing more."""

import asyncio
import base64
import binascii
import dataclasses
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.clock import Clock, SystemClock
from services.common.config import ConfigError, ServiceSettings, from_env, setting
from services.common.db import open_pool
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.common.grpcserver import GrpcService
from services.common.protos import to_timestamp
from services.identity import domain
from services.identity.brp import BrpClient, BrpSettings
from services.identity.brp_link import BrpLink
from services.identity.store import KeyRing, KeyStore, NotInitialised
from services.identity.vault import BsnVault

log = logging.getLogger(__name__)

MIGRATIONS = [Path(__file__).parent / "migrations"]
MAX_BATCH = 10_000


def _base64_key(value: str, env: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ConfigError(f"{env} must be base64") from None
    if len(key) != 32:
        raise ConfigError(f"{env} must be 32 bytes (base64)")
    return key


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdentitySettings(ServiceSettings):
    # The key-encryption key, versioned: a directory (the mounted Secret) with one file per
    # version, named by its number ("1", "2", ...), each base64 of 32 bytes; the highest
    # wraps. SLUIS_IDENTITY_KEK (one value, version 1) is the local/legacy form.
    kek: str = setting("SLUIS_IDENTITY_KEK", "", secret=True)
    kek_dir: str = setting("SLUIS_IDENTITY_KEK_DIR", "")
    peer_regions: tuple[str, ...] = setting("SLUIS_PEER_REGIONS", ())
    # This region's exchange private key (base64 scalar, a Kubernetes Secret like the KEK);
    # empty = no translation. `python -m services.identity exchange-key` makes one.
    exchange_key: str = setting("SLUIS_IDENTITY_EXCHANGE_KEY", "", secret=True)
    # "region=<base64 public exchange key>,..." for the peers in SLUIS_PEER_REGIONS.
    peer_keys: tuple[str, ...] = setting("SLUIS_PEER_KEYS", ())
    # From StartRotation to the switch to the new key: must exceed the key refresh interval
    # plus the stores' rotation cache TTL and margin (services/common/rekey.py).
    rotation_grace_seconds: float = setting("SLUIS_IDENTITY_ROTATION_GRACE_SECONDS", 30.0)
    key_refresh_seconds: float = setting("SLUIS_IDENTITY_KEY_REFRESH_SECONDS", 5.0)

    def keks(self) -> dict[int, bytes]:
        """Every KEK version this process knows, {version: key}."""
        if self.kek_dir:
            keks: dict[int, bytes] = {}
            directory = Path(self.kek_dir)
            try:
                # Kubernetes mounts a Secret with hidden ..data links beside the key files.
                files = [p for p in directory.iterdir() if not p.name.startswith(".")]
            except OSError:
                raise ConfigError(f"SLUIS_IDENTITY_KEK_DIR {self.kek_dir}: not readable") from None
            for path in files:
                if not path.name.isdigit():
                    raise ConfigError(
                        f"SLUIS_IDENTITY_KEK_DIR: {path.name}: file names are KEK version numbers"
                    )
                keks[int(path.name)] = _base64_key(path.read_text().strip(), f"KEK version {path.name}")
            if not keks:
                raise ConfigError("SLUIS_IDENTITY_KEK_DIR holds no KEK version")
            return keks
        if not self.kek:
            raise ConfigError("SLUIS_IDENTITY_KEK_DIR (or SLUIS_IDENTITY_KEK) is required")
        return {1: _base64_key(self.kek, "SLUIS_IDENTITY_KEK")}

    def kek_bytes(self) -> bytes:
        """The newest KEK: new keys are wrapped with it."""
        keks = self.keks()
        return keks[max(keks)]

    def pair_secrets(self) -> dict[str, bytes]:
        """The secret shared with each configured peer region (derived, never configured)."""
        if not self.exchange_key:
            return {}
        private = _base64_key(self.exchange_key, "SLUIS_IDENTITY_EXCHANGE_KEY")
        secrets: dict[str, bytes] = {}
        for entry in self.peer_keys:
            region, sep, public = entry.partition("=")
            region = region.strip()
            if not sep or not region:
                raise ConfigError("SLUIS_PEER_KEYS: expected region=<base64 public key>,...")
            if region not in self.peer_regions or region == self.region:
                continue  # only configured peers may translate
            try:
                secrets[region] = domain.pair_secret(
                    private, _base64_key(public.strip(), "SLUIS_PEER_KEYS"), self.region, region
                )
            except ValueError:
                raise ConfigError(f"SLUIS_PEER_KEYS: the key of {region} is not a valid public key") from None
        return secrets


def _rotation_pb(rotation: domain.Rotation) -> pb.Rotation:
    return pb.Rotation(
        rotation_id=rotation.rotation_id,
        from_key_version=rotation.from_version,
        to_key_version=rotation.to_version,
        state=pb.ROTATION_STATE_IN_PROGRESS
        if rotation.state == domain.IN_PROGRESS
        else pb.ROTATION_STATE_FINISHED,
        started_at=to_timestamp(rotation.started_at),
        switch_at=to_timestamp(rotation.switch_at),
        finished_at=to_timestamp(rotation.finished_at),
    )


def _check_batch(size: int) -> None:
    if size > MAX_BATCH:
        raise InvalidArgument("batch_too_large", f"Maximaal {MAX_BATCH} items per verzoek.")


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(
        self,
        store: KeyStore,
        *,
        region: str = "",
        grace: timedelta = timedelta(seconds=30),
        pair_secrets: dict[str, bytes] | None = None,
        clock: Clock | None = None,
        brp: BrpLink | None = None,
    ) -> None:
        self.store = store
        self.brp = brp  # None: no BRP link, registrations stay "unverified"
        self.region = region
        self.grace = grace
        self.pair_secrets = dict(pair_secrets or {})
        self.clock: Clock = clock or SystemClock()
        self.ring = KeyRing({}, None)

    async def refresh(self) -> None:
        self.ring = await self.store.load()

    def active(self) -> tuple[int, bytes]:
        version = domain.active_version(self.ring.keys, self.ring.rotation, self.clock.now())
        scalar = self.ring.keys.get(version)
        if scalar is None:
            raise FailedPrecondition("no_active_key", "Er is geen actieve pseudonimiseringssleutel.")
        return version, scalar

    async def Pseudonymise(
        self, request: pb.PseudonymiseRequest, context: grpc.aio.ServicerContext
    ) -> pb.PseudonymiseResponse:
        version, scalar = self.active()
        p = domain.pseudonymise(request.bsn, version, scalar)
        response = pb.PseudonymiseResponse(pseudonym=p.encode(), key_version=version)
        if request.birth_date and self.brp is not None:
            base = domain.hash_to_group(domain.normalise_bsn(request.bsn))
            found = await self.brp.verify(request.bsn, request.birth_date, base)
            response.municipality_code = found.municipality
            response.parent_pseudonyms.extend(
                domain.pseudonymise(b, version, scalar).encode() for b in found.parents
            )
            response.verified = True
        return response

    async def PseudonymiseBatch(
        self, request: pb.PseudonymiseBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.PseudonymiseBatchResponse:
        _check_batch(len(request.bsns))
        version, scalar = self.active()
        response = pb.PseudonymiseBatchResponse()
        results = response.results
        for pseudonym, reason in domain.pseudonymise_many(request.bsns, version, scalar):
            if pseudonym is None:
                results.add(error_reason=reason)
            else:
                results.add(pseudonym=pseudonym, key_version=version)
        if request.birth_dates and self.brp is not None:
            await self._verify_batch(request, results, version, scalar)
        return response

    async def _verify_batch(
        self, request: pb.PseudonymiseBatchRequest, results: Any, version: int, scalar: bytes
    ) -> None:
        """Bulk registrations with a BRP link: check each valid item's birth date (issue 18)."""
        if self.brp is None or len(request.birth_dates) != len(request.bsns):
            raise InvalidArgument("birth_dates_length", "Geef per BSN een geboortedatum op.")
        todo = [i for i, r in enumerate(results) if r.pseudonym]
        items = [
            (
                request.bsns[i],
                request.birth_dates[i],
                domain.hash_to_group(domain.normalise_bsn(request.bsns[i])),
            )
            for i in todo
        ]
        for i, found in zip(todo, await self.brp.verify_many(items), strict=True):
            if found is None:
                results[i].Clear()
                results[i].error_reason = "birth_date_mismatch"
            else:
                results[i].municipality_code = found.municipality
                results[i].parent_pseudonyms.extend(
                    domain.pseudonymise(b, version, scalar).encode() for b in found.parents
                )

    async def _rotation_in_cache(self, rotation_id: str) -> domain.Rotation:
        """The rotation in progress as this replica knows it, refreshed when it is news."""
        rotation = self.ring.rotation
        if rotation is None or rotation.rotation_id != rotation_id:
            await self.refresh()  # started or finished on another replica moments ago
            rotation = self.ring.rotation
        if rotation is None or rotation.rotation_id != rotation_id:
            found = await self.store.rotation(rotation_id)  # NotFound for an unknown id
            if found.state != domain.IN_PROGRESS:
                raise FailedPrecondition("rotation_finished", "Deze sleutelrotatie is al afgerond.")
            raise FailedPrecondition("rotation_not_loaded", "De sleutelrotatie is nog niet geladen.")
        return rotation

    async def StartRotation(
        self, request: pb.StartRotationRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartRotationResponse:
        rotation = await self.store.start_rotation(self.clock.now(), self.grace)
        await self.refresh()
        log.info(
            "key rotation started",
            extra={"rotation_id": rotation.rotation_id, "to_version": rotation.to_version},
        )
        return pb.StartRotationResponse(rotation=_rotation_pb(rotation))

    async def RekeyPseudonyms(
        self, request: pb.RekeyPseudonymsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RekeyPseudonymsResponse:
        _check_batch(len(request.pseudonyms))
        if not request.rotation_id:
            raise InvalidArgument("rotation_id_missing", "Geef de sleutelrotatie op.")
        rotation = await self._rotation_in_cache(request.rotation_id)
        keys = self.ring.keys
        current, previous = domain.rekey_batch(
            rotation,
            keys[rotation.from_version],
            keys[rotation.to_version],
            request.pseudonyms,
            include_previous=request.include_previous,
        )
        return pb.RekeyPseudonymsResponse(pseudonyms=current, previous_pseudonyms=previous)

    async def GetRotation(
        self, request: pb.GetRotationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRotationResponse:
        # Read from the database, not the replica's cache: stores poll this to learn of a
        # rotation, whichever replica started it.
        try:
            rotation = await self.store.rotation(request.rotation_id or None)
        except NotFound as exc:
            if request.rotation_id:
                raise
            # No rotation in progress: say which key version is current (trailing metadata
            # sluis-meta-active-key-version), so a store can recognise a pseudonym of a
            # retired key instead of silently storing it beside the person's current one.
            version, _ = self.active()
            raise NotFound(exc.reason, exc.detail, active_key_version=str(version)) from None
        return pb.GetRotationResponse(rotation=_rotation_pb(rotation))

    async def FinishRotation(
        self, request: pb.FinishRotationRequest, context: grpc.aio.ServicerContext
    ) -> pb.FinishRotationResponse:
        rotation = await self.store.finish_rotation(request.rotation_id, self.clock.now())
        await self.refresh()
        log.info("key rotation finished", extra={"rotation_id": rotation.rotation_id})
        return pb.FinishRotationResponse(rotation=_rotation_pb(rotation))

    async def TranslatePseudonym(
        self, request: pb.TranslatePseudonymRequest, context: grpc.aio.ServicerContext
    ) -> pb.TranslatePseudonymResponse:
        _check_batch(len(request.pseudonyms))
        if request.from_region == request.to_region:
            raise InvalidArgument("same_region", "Bron- en doelregio zijn gelijk.")
        if request.from_region == self.region:
            peer, outgoing = request.to_region, True
        elif request.to_region == self.region:
            peer, outgoing = request.from_region, False
        else:
            peer, outgoing = "", False
        secret = self.pair_secrets.get(peer)
        if secret is None:
            raise PermissionDenied(
                "region_not_peer", "Vertalen met deze regio is niet toegestaan.", region=peer or "-"
            )
        if outgoing:
            tokens = domain.to_exchange_tokens(request.pseudonyms, self.ring.keys, secret)
            return pb.TranslatePseudonymResponse(pseudonyms=tokens)
        version, scalar = self.active()
        return pb.TranslatePseudonymResponse(
            pseudonyms=domain.from_exchange_tokens(request.pseudonyms, version, scalar, secret)
        )

    async def GetPersonFacts(
        self, request: pb.GetPersonFactsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPersonFactsResponse:
        _check_batch(len(request.pseudonyms))
        if self.brp is None:
            return pb.GetPersonFactsResponse(facts=[pb.PersonFacts(pseudonym=p) for p in request.pseudonyms])
        version, scalar = self.active()
        facts = await self.brp.facts(request.pseudonyms, self.ring.keys, version, scalar)
        return pb.GetPersonFactsResponse(facts=[pb.PersonFacts(**f) for f in facts])  # type: ignore[arg-type]

    async def ForgetPeople(
        self, request: pb.ForgetPeopleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ForgetPeopleResponse:
        _check_batch(len(request.pseudonyms))
        if self.brp is None:
            return pb.ForgetPeopleResponse()
        return pb.ForgetPeopleResponse(forgotten=await self.brp.forget(request.pseudonyms, self.ring.keys))


async def create_service(
    settings: IdentitySettings, *, clock: Clock | None = None, brp: BrpSettings | None = None
) -> GrpcService:
    service = GrpcService("identity", settings)
    pool = await open_pool(
        settings.database_url,
        name="identity",
        max_size=settings.db_pool_max,
        timeout=settings.db_pool_timeout_seconds,
    )
    service.add_closer(pool.close)
    store = KeyStore(pool, settings.kek_bytes(), settings.keks())
    try:
        await store.require_initialised()
    except NotInitialised as exc:
        await pool.close()
        raise ConfigError(str(exc)) from None
    brp = brp if brp is not None else from_env(BrpSettings)
    link = BrpLink(BrpClient(brp), BsnVault(pool, settings.keks())) if brp.enabled else None
    servicer = IdentityServicer(
        store,
        region=settings.region,
        grace=timedelta(seconds=settings.rotation_grace_seconds),
        pair_secrets=settings.pair_secrets(),
        clock=clock,
        brp=link,
    )
    await servicer.refresh()
    service.add_servicer(
        pb_grpc.add_IdentityServiceServicer_to_server, servicer, "sluis.identity.v1.IdentityService"
    )

    async def refresh_keys() -> None:
        # Replicas pick up rotations started or finished elsewhere within this interval; the
        # rotation grace period is longer, so none misses the switch to the new key.
        while True:
            await asyncio.sleep(settings.key_refresh_seconds)
            await servicer.refresh()

    service.add_background(refresh_keys)
    if link is not None:

        async def prune_vault() -> None:
            while True:
                try:
                    await link.vault.prune(timedelta(hours=brp.vault_ttl_hours))
                except Exception:
                    log.exception("brp vault prune failed")
                await asyncio.sleep(3600)

        service.add_background(prune_vault)
    return service
