"""The BRP link of identity: a client of Haal Centraal BRP Bevragen (`POST /personen`).

Optional: without SLUIS_BRP_URL the region runs as before ("unverified": birth dates are
stored, not checked). With it, identity asks the BRP for a person's birth date, municipality,
death and parents/children, by BSN, with query type RaadpleegMetBurgerservicenummer and only
the fields in brp_facts.FIELDS. Production: mTLS with the PKIoverheid client certificate,
the API key header, timeouts and a circuit breaker, so a slow BRP fails fast instead of
tying up every registration. Neither requests nor answers are logged or stored.
"""

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import grpc
import requests

from services.common.config import setting
from services.common.errors import DomainError
from services.identity import brp_facts

MAX_PER_REQUEST = 20  # maxItems of burgerservicenummer in the contract


class BrpUnavailable(DomainError):
    """The BRP did not answer (or the circuit is open): UNAVAILABLE, 503 at the gateway."""

    code = grpc.StatusCode.UNAVAILABLE


def unavailable() -> BrpUnavailable:
    return BrpUnavailable(
        "brp_unavailable",
        "De Basisregistratie Personen is tijdelijk niet bereikbaar. Probeer het later opnieuw.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class BrpSettings:
    """Read with services.common.config.from_env; empty url = no BRP link."""

    url: str = setting("SLUIS_BRP_URL", "")
    api_key: str = setting("SLUIS_BRP_API_KEY", "", secret=True)
    api_key_header: str = setting("SLUIS_BRP_API_KEY_HEADER", "X-API-KEY")
    # mTLS: the PKIoverheid client certificate and key (files mounted from a Secret) and
    # the CA bundle that signs the BRP's server certificate (empty = system CAs).
    client_cert_file: str = setting("SLUIS_BRP_CLIENT_CERT_FILE", "")
    client_key_file: str = setting("SLUIS_BRP_CLIENT_KEY_FILE", "", secret=True)
    ca_file: str = setting("SLUIS_BRP_CA_FILE", "")
    # Together below the gateway's RPC timeout (5 s), so identity answers 503 first.
    connect_timeout_seconds: float = setting("SLUIS_BRP_CONNECT_TIMEOUT_SECONDS", 1.0)
    read_timeout_seconds: float = setting("SLUIS_BRP_READ_TIMEOUT_SECONDS", 2.5)
    # Circuit breaker: after this many failures in a row, fail at once for the cool-down.
    breaker_failures: int = setting("SLUIS_BRP_BREAKER_FAILURES", 5)
    breaker_cooldown_seconds: float = setting("SLUIS_BRP_BREAKER_COOLDOWN_SECONDS", 30.0)
    # Also ask for the address object id (household matching); off unless the region uses it.
    household: bool = setting("SLUIS_BRP_HOUSEHOLD", False)
    # The municipality codes of this region ("0599,0228"); a move elsewhere leaves the region.
    region_municipalities: tuple[str, ...] = setting("SLUIS_REGION_MUNICIPALITIES", ())
    # A vault entry the daily re-check has not asked for this long is deleted (last signal
    # ended); longer than the re-check interval (daily) plus a missed run.
    vault_ttl_hours: float = setting("SLUIS_BRP_VAULT_TTL_HOURS", 72.0)

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class CircuitBreaker:
    """Closed -> open after `threshold` consecutive failures; half-open after `cooldown`."""

    def __init__(self, threshold: int, cooldown: float, clock: Any = time.monotonic) -> None:
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        return self.clock() - self.opened_at >= self.cooldown  # half-open: one try

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()


def query(bsns: Sequence[str], *, household: bool = False) -> dict[str, Any]:
    """The request body: RaadpleegMetBurgerservicenummer with only the fields SluiS needs."""
    return {
        "type": "RaadpleegMetBurgerservicenummer",
        "burgerservicenummer": list(bsns),
        "fields": brp_facts.fields(household=household),
        "inclusiefOverledenPersonen": True,  # a death must be seen, not a disappearance
    }


class BrpClient:
    def __init__(self, settings: BrpSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.endpoint = settings.url.rstrip("/") + "/personen"
        self.session = session or requests.Session()
        if settings.client_cert_file:
            self.session.cert = (settings.client_cert_file, settings.client_key_file or None)  # type: ignore[assignment]
        if settings.ca_file:
            self.session.verify = settings.ca_file
        self.session.headers["Content-Type"] = "application/json; charset=utf-8"
        self.session.headers["Accept"] = "application/json"
        if settings.api_key:
            self.session.headers[settings.api_key_header] = settings.api_key
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_seconds)

    def lookup_sync(self, bsns: Sequence[str]) -> dict[str, brp_facts.PersonFacts]:
        """Facts per BSN for the ones the BRP knows (at most MAX_PER_REQUEST per call)."""
        if len(bsns) > MAX_PER_REQUEST:
            raise ValueError("at most 20 BSNs per BRP request")
        if not self.breaker.allow():
            raise unavailable()
        try:
            response = self.session.post(
                self.endpoint,
                json=query(bsns, household=self.settings.household),
                timeout=(self.settings.connect_timeout_seconds, self.settings.read_timeout_seconds),
            )
        except requests.RequestException:
            self.breaker.failure()
            raise unavailable() from None
        if response.status_code >= 500 or response.status_code == 429:
            self.breaker.failure()
            raise unavailable()
        if response.status_code != 200:
            # 4xx: our request or credentials are wrong; an operator must act (never the BSN).
            self.breaker.failure()
            raise BrpRejected(response.status_code)
        self.breaker.success()
        body = response.json()
        out: dict[str, brp_facts.PersonFacts] = {}
        for persoon in body.get("personen", []) if isinstance(body, dict) else []:
            if isinstance(persoon, dict):
                facts = brp_facts.facts_from_persoon(persoon)
                if facts.bsn:
                    out[facts.bsn] = facts
        return out

    async def lookup(self, bsns: Sequence[str]) -> dict[str, brp_facts.PersonFacts]:
        # requests is blocking: run it off the event loop (the gRPC server stays responsive).
        return await asyncio.to_thread(self.lookup_sync, bsns)

    async def lookup_many(
        self, bsns: Sequence[str], concurrency: int = 4
    ) -> dict[str, brp_facts.PersonFacts]:
        chunks = [bsns[i : i + MAX_PER_REQUEST] for i in range(0, len(bsns), MAX_PER_REQUEST)]
        limit = asyncio.Semaphore(concurrency)
        out: dict[str, brp_facts.PersonFacts] = {}

        async def one(chunk: Sequence[str]) -> None:
            async with limit:
                out.update(await self.lookup(chunk))

        await asyncio.gather(*(one(c) for c in chunks))
        return out


class BrpRejected(BrpUnavailable):
    def __init__(self, status: int) -> None:
        super().__init__(
            "brp_rejected",
            "De Basisregistratie Personen weigerde het verzoek. Neem contact op met de beheerder.",
            brp_status=str(status),
        )
