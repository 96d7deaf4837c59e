"""Two regions side by side, linked by federation (issue 19, docs/adr/0005-federation.md).

`make run-federation` (python -m devstack.federation) and tests/test_federation.py. Each
region is a whole Platform with its own PostgreSQL, Redis, SMTP, keys and identity exchange
key; devstack makes a local federation CA, a certificate per region (server and client)
and pins each region's certificate in the other's match settings.
"""

import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric import ec
from sluis.federation.v1 import federation_pb2 as fpb
from sluis.federation.v1 import federation_pb2_grpc as fpb_grpc
from sluis.identity.v1 import identity_pb2, identity_pb2_grpc

from devstack.certs import make_ca, make_leaf
from devstack.mailview import MailView
from devstack.platform import ROOT, Platform, Supervisor
from devstack.redis import free_port
from services.identity import domain as identity_domain
from services.match.federation_link import fingerprint_pem

# Region ids as in deploy/helm/sluis/values-<region>.yaml.
REGIONS = ("rotterdam", "gelderland-midden")
# make run-federation: the second region's ports are the first's plus this.
PORT_OFFSET = 100
DEMO_PERSON = ("111222333", "1990-04-12")


@dataclass(frozen=True)
class RegionCertificate:
    tls_dir: Path
    fingerprint: str


def region_certificate(
    directory: Path, region: str, ca_path: Path, ca_key: ec.EllipticCurvePrivateKey
) -> RegionCertificate:
    """tls.crt/tls.key/ca.crt in directory/<region> (the layout of SLUIS_FEDERATION_TLS_DIR)."""
    target = directory / region
    target.mkdir(parents=True, exist_ok=True)
    env = make_leaf(target, region, ca_path, ca_key)
    shutil.copyfile(env["SLUIS_TLS_CERT_FILE"], target / "tls.crt")
    shutil.copyfile(env["SLUIS_TLS_KEY_FILE"], target / "tls.key")
    shutil.copyfile(ca_path, target / "ca.crt")
    return RegionCertificate(target, fingerprint_pem((target / "tls.crt").read_bytes()))


@dataclass
class Federation:
    """Two linked regional platforms; `start()` / `stop()`; `regions[region]` is a Platform."""

    workdir: Path
    ports: dict[str, dict[str, int]] = field(default_factory=dict)
    throwaway: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # SLUIS_FEDERATION_SHARE per peer ("*": every organisation's professionals cross).
    share: str = "*"
    # Regions whose identity gets a local BRP (devstack/brp.py), e.g. for a move test.
    brp_regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.workdir = self.workdir.resolve()
        certs = self.workdir / "federation-certs"
        self.ca_path, self.ca_key = make_ca(certs / "ca", "sluis-federation-ca")
        self.certificates = {r: region_certificate(certs, r, self.ca_path, self.ca_key) for r in REGIONS}
        keys = {r: identity_domain.new_scalar() for r in REGIONS}
        public = {
            r: base64.b64encode(identity_domain.exchange_public_key(k)).decode() for r, k in keys.items()
        }
        for region in REGIONS:
            self.ports.setdefault(region, {}).setdefault("federation", free_port())
        self.regions: dict[str, Platform] = {}
        for region in REGIONS:
            peers = [r for r in REGIONS if r != region]
            match_env = {
                "SLUIS_FEDERATION_LISTEN": f"127.0.0.1:{self.ports[region]['federation']}",
                "SLUIS_FEDERATION_TLS_DIR": str(self.certificates[region].tls_dir),
                "SLUIS_FEDERATION_PEERS": ",".join(
                    f"{p}=127.0.0.1:{self.ports[p]['federation']}" for p in peers
                ),
                "SLUIS_FEDERATION_PINS": ",".join(f"{p}={self.certificates[p].fingerprint}" for p in peers),
                "SLUIS_FEDERATION_SHARE": ",".join(f"{p}={self.share}" for p in peers),
            }
            identity_env = {
                "SLUIS_PEER_REGIONS": ",".join(peers),
                "SLUIS_PEER_KEYS": ",".join(f"{p}={public[p]}" for p in peers),
                "SLUIS_IDENTITY_EXCHANGE_KEY": base64.b64encode(keys[region]).decode(),
            }
            self.regions[region] = Platform(
                self.workdir / region,
                region=region,
                ports=self.ports[region],
                throwaway=self.throwaway,
                extra_env=dict(self.extra_env),
                brp=region in self.brp_regions,
                service_env={"match": match_env, "identity": identity_env},
            )

    def start(self) -> "Federation":
        """Both regions at once (each start is mostly waiting for processes)."""
        errors: list[BaseException] = []

        for p in self.regions.values():
            p.start_infra()  # embedded PostgreSQL does not start two clusters at once

        def start(p: Platform) -> None:
            try:
                p.start_services()
            except BaseException as exc:  # reported below, after both tried
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(p,)) for p in self.regions.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise errors[0]
        return self

    def stop(self) -> None:
        for p in self.regions.values():
            p.stop()


def exchange_stub(
    fed: Federation, caller: str, target: str, tls_dir: Path | None = None
) -> tuple[fpb_grpc.FederationServiceStub, grpc.Channel]:
    """A FederationService stub of `target`, calling with `caller`'s certificate (or the one
    in `tls_dir`), and its channel (close it)."""
    directory = tls_dir or fed.certificates[caller].tls_dir
    credentials = grpc.ssl_channel_credentials(
        (directory / "ca.crt").read_bytes(),
        (directory / "tls.key").read_bytes(),
        (directory / "tls.crt").read_bytes(),
    )
    channel = grpc.secure_channel(f"127.0.0.1:{fed.ports[target]['federation']}", credentials)
    return fpb_grpc.FederationServiceStub(channel), channel


def exchange_tokens(p: Platform, peer: str, bsns: list[str]) -> list[str]:
    """The pair's exchange tokens of these people, as region `p` would send them."""
    with grpc.insecure_channel(p.address("identity")) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        pseudonyms = [stub.Pseudonymise(identity_pb2.PseudonymiseRequest(bsn=b)).pseudonym for b in bsns]
        reply = stub.TranslatePseudonym(
            identity_pb2.TranslatePseudonymRequest(
                from_region=p.region, to_region=peer, pseudonyms=pseudonyms
            )
        )
    return list(reply.pseudonyms)


def probe_exchange(
    fed: Federation, caller: str, target: str, tokens: dict[str, str], rounds: int
) -> tuple[dict[str, list[float]], dict[str, set[bytes]]]:
    """Call the peer's Exchange with PRESENT for each labelled token, alternating the order:
    the seconds each call took and the distinct answers (reply and trailers), per label."""
    timings: dict[str, list[float]] = {label: [] for label in tokens}
    answers: dict[str, set[bytes]] = {label: set() for label in tokens}
    stub, channel = exchange_stub(fed, caller, target)
    with channel:
        stub.Exchange(fpb.ExchangeRequest(from_region=caller))  # the TLS handshake, not measured
        items = list(tokens.items())
        for i in range(rounds):
            for label, token in items if i % 2 else items[::-1]:
                event = fpb.PeerEvent(
                    event_id=f"probe-{label}-{i}-{time.time_ns()}",
                    exchange_token=token,
                    state=fpb.PEER_STATE_PRESENT,
                    sequence=1,
                    want_members=True,
                )
                started = time.perf_counter()
                reply, call = stub.Exchange.with_call(fpb.ExchangeRequest(from_region=caller, events=[event]))
                timings[label].append(time.perf_counter() - started)
                answers[label].add(
                    reply.SerializeToString() + repr(sorted(call.trailing_metadata() or ())).encode()
                )
    return timings, answers


@contextmanager
def running_with_demo(**kwargs: Any) -> Iterator[Federation]:
    """Two linked regions with demo data (`platform.demo`) in a private temporary directory
    (tests, benchmarks); `kwargs` are further Federation arguments."""
    workdir = Path(tempfile.mkdtemp(prefix="sluis-federation-"))
    fed = Federation(workdir, **kwargs)
    try:
        fed.start()
        for p in fed.regions.values():
            p.demo = p.seed_demo()  # type: ignore[attr-defined]
        yield fed
    finally:
        fed.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _ports(offset: int) -> dict[str, int]:
    """`make run`'s local ports (SLUIS_DEV_PORT_<NAME> honoured) plus the federation port,
    all shifted by `offset`."""
    from devstack.__main__ import _ports as run_ports

    ports = {k: v for k, v in run_ports().items() if k != "otlp"}
    ports["federation"] = int(os.environ.get("SLUIS_DEV_PORT_FEDERATION", 7443))
    return {k: v + offset for k, v in ports.items()}


def instructions(fed: Federation, demos: dict[str, dict[str, Any]], mail: dict[str, str]) -> str:
    from devstack.__main__ import registration_body

    body = registration_body(*DEMO_PERSON)
    lines = ["", "SluiS draait lokaal in twee regio's  (Ctrl-C stopt alles)", ""]
    for region, p in fed.regions.items():
        lines += [
            f"  {region:<18} REST API {p.url}/v1   portaal {p.url}/   mailbox {mail[region]}",
            f"  {'':<18} demo-gegevens {p.workdir / 'demo.json'}   logs {p.logdir}",
        ]
    lines += ["", "Een grensoverschrijdende match: beide regio's signaleren dezelfde persoon."]
    step = 1
    keys = {}
    for region, p in fed.regions.items():
        pro = demos[region]["professionals"][0]
        keys[region] = pro["apiKey"]
        lines += [
            f"{step}. {pro['name']} ({pro['organisation']}, {region}) registreert een signaal:",
            f"   curl -s -X POST {p.url}/v1/signals -H 'Authorization: Bearer {pro['apiKey']}' "
            f"-H 'Content-Type: application/json' -d '{body}'",
        ]
        step += 1
    lines.append(f"{step}. Beide zien een match van soort cross-region, met elkaars contactgegevens:")
    for region, p in fed.regions.items():
        lines.append(f"   curl -s {p.url}/v1/matches -H 'Authorization: Bearer {keys[region]}'")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    base = Path(os.environ.get("SLUIS_DEV_DIR", ROOT / ".local"))
    ports = {region: _ports(i * PORT_OFFSET) for i, region in enumerate(REGIONS)}
    fed = Federation(base, ports=ports, throwaway=False)
    print("SluiS wordt gestart in twee regio's: " + ", ".join(REGIONS) + " ...", flush=True)
    stopping = threading.Event()
    views: list[MailView] = []
    try:
        fed.start()
        demos, mail = {}, {}
        for i, (region, p) in enumerate(fed.regions.items()):
            demos[region] = p.seed_demo()
            (p.workdir / "demo.json").write_text(json.dumps(demos[region], indent=2, ensure_ascii=False))
            port = int(os.environ.get("SLUIS_DEV_PORT_MAILVIEW", 8025)) + i * PORT_OFFSET
            views.append(MailView(p.mailbox, port, None).start())
            mail[region] = f"http://127.0.0.1:{port}/"
        print(instructions(fed, demos, mail), flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        supervisors = [Supervisor(p) for p in fed.regions.values()]
        try:
            while not stopping.wait(0.5):
                for s in supervisors:
                    for message in s.poll():
                        print(f"[{s.platform.region}] {message}", flush=True)
        except KeyboardInterrupt:
            pass
        for v in views:
            v.stop()
    finally:
        print("\nSluiS wordt gestopt ...", flush=True)
        fed.stop()
        print("Gestopt.")
    sys.exit(0)


if __name__ == "__main__":
    main()
