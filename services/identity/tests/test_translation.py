"""Two regions, two databases, two KEKs, different keys: they recognise the same person."""

import base64
from typing import Any

import grpc
import pytest
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.config import ConfigError
from services.identity import cli
from services.identity.server import MIGRATIONS, IdentitySettings, create_service
from services.identity.store import initialise_keys

ROTTERDAM, GELDERLAND, UTRECHT = "rotterdam", "gelderland-midden", "utrecht"


@pytest.fixture
def regions(new_database, run_service):
    rdam, gm, utr = cli.exchange_key(), cli.exchange_key(), cli.exchange_key()

    def start(region: str, kek: bytes, own: dict[str, str], peers: dict[str, dict[str, str]]):
        settings = IdentitySettings(
            region=region,
            database_url=new_database("identity", MIGRATIONS),
            grpc_listen="127.0.0.1:0",
            kek=base64.b64encode(kek).decode(),
            exchange_key=own["SLUIS_IDENTITY_EXCHANGE_KEY"],
            peer_regions=tuple(peers),
            peer_keys=tuple(f"{r}={k['public_key']}" for r, k in peers.items()),
        )
        # identity starts only on an initialised key table (`identity init`)
        initialise_keys(settings.database_url, settings.kek_bytes())
        return run_service(lambda: create_service(settings))

    a = start(ROTTERDAM, b"a" * 32, rdam, {GELDERLAND: gm})
    b = start(GELDERLAND, b"b" * 32, gm, {ROTTERDAM: rdam, UTRECHT: utr})
    channels = [grpc.insecure_channel(s.address) for s in (a, b)]
    yield [pb_grpc.IdentityServiceStub(c) for c in channels]
    for c in channels:
        c.close()


def pseudonymise(stub, bsn: str) -> str:
    return stub.Pseudonymise(pb.PseudonymiseRequest(bsn=bsn), timeout=5).pseudonym


def translate(stub, src: str, dst: str, items: list[str]) -> list[str]:
    request = pb.TranslatePseudonymRequest(from_region=src, to_region=dst, pseudonyms=items)
    return list(stub.TranslatePseudonym(request, timeout=5).pseudonyms)


def test_two_regions_recognise_the_same_person(regions) -> None:
    rotterdam, gelderland = regions
    bsns = ["123456782", "111222333"]
    in_rdam = [pseudonymise(rotterdam, b) for b in bsns]
    in_gm = [pseudonymise(gelderland, b) for b in bsns]
    assert set(in_rdam).isdisjoint(in_gm)  # different keys: unrelated pseudonyms

    tokens = translate(rotterdam, ROTTERDAM, GELDERLAND, in_rdam)
    assert all(t.startswith("x.") for t in tokens)
    assert set(tokens).isdisjoint(in_rdam + in_gm)
    assert translate(gelderland, ROTTERDAM, GELDERLAND, tokens) == in_gm
    # And back the other way.
    back = translate(gelderland, GELDERLAND, ROTTERDAM, in_gm)
    assert back == tokens  # the pair's exchange space is symmetric
    assert translate(rotterdam, GELDERLAND, ROTTERDAM, back) == in_rdam


def test_only_configured_peers(regions) -> None:
    rotterdam, gelderland = regions
    p = pseudonymise(rotterdam, "123456782")
    for stub, src, dst in [
        (rotterdam, ROTTERDAM, UTRECHT),  # not a peer of Rotterdam
        (rotterdam, UTRECHT, GELDERLAND),  # neither side is Rotterdam
        (gelderland, UTRECHT, ROTTERDAM),
    ]:
        with pytest.raises(grpc.RpcError) as exc:
            translate(stub, src, dst, [p])
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:
        translate(rotterdam, ROTTERDAM, ROTTERDAM, [p])
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as exc:  # a pseudonym is not a token
        translate(gelderland, ROTTERDAM, GELDERLAND, [p])
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_peer_key_configuration_is_checked() -> None:
    base: dict[str, Any] = {"region": "a", "database_url": "x", "kek": base64.b64encode(b"k" * 32).decode()}
    own = cli.exchange_key()["SLUIS_IDENTITY_EXCHANGE_KEY"]
    for peer_keys in [
        ("b",),
        ("b=" + base64.b64encode(b"\x01" * 32).decode(),),
        ("b=notbase64",),
        ("b=" + base64.b64encode(bytes(32)).decode(),),
    ]:
        settings = IdentitySettings(**base, exchange_key=own, peer_regions=("b",), peer_keys=peer_keys)
        with pytest.raises(ConfigError):
            settings.pair_secrets()
    assert IdentitySettings(**base).pair_secrets() == {}
