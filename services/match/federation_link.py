"""The federation transport (docs/adr/0005-federation.md): match's peer-facing gRPC server and
its client to each peer, mutual TLS with the peer's certificate pinned.

Server: a client certificate signed by ca.crt is demanded by TLS itself; the servicer then
checks that its SHA-256 (DER) fingerprint is pinned for the region the request claims to
come from (SLUIS_FEDERATION_PINS), else PERMISSION_DENIED. Client: before each delivery a TLS
handshake with the peer (verified against ca.crt, our certificate presented) yields the
server certificate, whose fingerprint must be pinned for that peer; only then is the gRPC
call made (over its own connection verified against the same CA).

Exchange answers the same empty acknowledgement to every accepted call, before anything is
looked up: the events wait in federation_inbox for the worker (store.drain_federation_inbox).
"""

import asyncio
import hashlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from psycopg_pool import AsyncConnectionPool
from sluis.federation.v1 import federation_pb2 as fpb
from sluis.federation.v1 import federation_pb2_grpc as fpb_grpc
from sluis.identity.v1 import identity_pb2, identity_pb2_grpc

from services.common import telemetry
from services.common.errors import InvalidArgument, PermissionDenied, Unavailable
from services.match.federation import Peering

log = logging.getLogger(__name__)

MAX_EVENTS = 1_000
INBOX_CHANNEL = "sluis_federation_inbox"


@dataclass(frozen=True)
class TlsFiles:
    """tls.crt, tls.key and ca.crt of SLUIS_FEDERATION_TLS_DIR."""

    directory: Path

    @property
    def cert(self) -> Path:
        return self.directory / "tls.crt"

    @property
    def key(self) -> Path:
        return self.directory / "tls.key"

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key.read_bytes(), self.cert.read_bytes())],
            root_certificates=self.ca.read_bytes(),
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes(),
            certificate_chain=self.cert.read_bytes(),
        )

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        context.set_alpn_protocols(["h2"])
        return context


def fingerprint_der(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def fingerprint_pem(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return fingerprint_der(cert.public_bytes(serialization.Encoding.DER))


def caller_fingerprint(context: grpc.aio.ServicerContext) -> str:
    """The fingerprint of the client certificate of this call ('' without one)."""
    pems = list(context.auth_context().get("x509_pem_cert") or [])
    return fingerprint_pem(pems[0]) if pems else ""


async def peer_fingerprint(endpoint: str, tls: TlsFiles, timeout: float) -> str:
    """A TLS handshake with the peer (CA-verified, our certificate presented): the
    fingerprint of the certificate it serves."""
    host, _, port = endpoint.rpartition(":")
    host = host.strip("[]")
    _reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, int(port), ssl=tls.ssl_context(), server_hostname=host), timeout
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    return fingerprint_der(der or b"")


class FederationServicer(fpb_grpc.FederationServiceServicer):
    """Peer-facing: authenticate the peer, queue its events, answer at once."""

    def __init__(self, pool: AsyncConnectionPool, peering: Peering) -> None:
        self.pool = pool
        self.peering = peering

    async def Exchange(
        self, request: fpb.ExchangeRequest, context: grpc.aio.ServicerContext
    ) -> fpb.ExchangeResponse:
        region = request.from_region
        fingerprint = caller_fingerprint(context)
        if region not in self.peering.peers or not self.peering.pinned(region, fingerprint):
            # Fingerprints and region ids only: nothing about a person.
            log.warning(
                "federation peer refused",
                extra={"claimed_region": region[:64], "fingerprint": fingerprint},
            )
            raise PermissionDenied("peer_not_pinned", "Deze regio is niet als partner ingesteld.")
        if len(request.events) > MAX_EVENTS:
            raise InvalidArgument("batch_too_large", f"Maximaal {MAX_EVENTS} gebeurtenissen per verzoek.")
        metadata = dict(context.invocation_metadata() or ())
        traceparent = str(metadata.get("traceparent", ""))[:55]
        tracestate = ""  # free text of another system: not stored
        rows = [
            (
                e.event_id[:64],
                region,
                e.SerializeToString(),
                traceparent,
                tracestate,
                self.peering.peers[region],
            )
            for e in request.events
            if e.event_id
        ]
        if rows:
            async with self.pool.connection() as conn, conn.transaction():
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO federation_inbox (event_id, from_region, payload, traceparent, tracestate,"
                        " peer_uri) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        rows,
                    )
                await conn.execute(f"NOTIFY {INBOX_CHANNEL}")
        return fpb.ExchangeResponse()


class PeerClient:
    """Delivers the outbox's PeerEvents to one peer region (outbox.Sender)."""

    def __init__(
        self,
        peering: Peering,
        region: str,
        tls: TlsFiles,
        identity: "identity_pb2_grpc.IdentityServiceAsyncStub",
        timeout: float,
    ) -> None:
        self.peering = peering
        self.region = region
        self.endpoint = peering.peers[region]
        self.tls = tls
        self.identity = identity
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> "fpb_grpc.FederationServiceAsyncStub":
        if self._channel is None:
            self._channel = grpc.aio.secure_channel(
                self.endpoint,
                self.tls.channel_credentials(),
                interceptors=telemetry.aio_client_interceptors(),
            )
        return fpb_grpc.FederationServiceStub(self._channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def verify_peer(self) -> None:
        """The peer serves a pinned certificate, else the delivery fails (and is retried)."""
        fingerprint = await peer_fingerprint(self.endpoint, self.tls, self.timeout)
        if not self.peering.pinned(self.region, fingerprint):
            log.warning(
                "federation peer certificate not pinned",
                extra={"region": self.region, "fingerprint": fingerprint},
            )
            raise Unavailable("peer_not_pinned", "Het certificaat van de partnerregio is niet vastgepind.")

    async def send(self, payloads: list[bytes]) -> None:
        queued = [fpb.QueuedPeerEvent.FromString(p) for p in payloads]
        await self.verify_peer()
        translated = await self.identity.TranslatePseudonym(
            identity_pb2.TranslatePseudonymRequest(
                from_region=self.peering.region,
                to_region=self.region,
                pseudonyms=[q.pseudonym for q in queued],
            ),
            timeout=self.timeout,
        )
        events = []
        for q, token in zip(queued, translated.pseudonyms, strict=True):
            event = fpb.PeerEvent()
            event.CopyFrom(q.event)
            event.exchange_token = token
            events.append(event)
        await self._stub().Exchange(
            fpb.ExchangeRequest(from_region=self.peering.region, events=events), timeout=self.timeout
        )
