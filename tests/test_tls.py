"""The platform with mutual TLS between every service (certificates made here): the whole
flow works, and identity answers nobody without a platform certificate."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.certs import make_ca, make_leaf
from devstack.fixtures import running_with_demo
from devstack.platform import Platform
from tests.helpers import BSNS, Api, by_org, wait_until


@pytest.fixture(scope="module")
def tls_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    pki = tmp_path_factory.mktemp("tls-pki")
    ca, ca_key = make_ca(pki)
    with running_with_demo(make_leaf(pki, "platform", ca, ca_key)) as p:
        yield p


def test_signals_and_matches_flow_over_mutual_tls(tls_platform: Platform) -> None:
    professionals: list[dict[str, Any]] = list(tls_platform.demo["professionals"])  # type: ignore[attr-defined]
    orgs = list(by_org(professionals).values())
    a = Api(tls_platform.url, orgs[0][0]["apiKey"])
    b = Api(tls_platform.url, orgs[1][0]["apiKey"])
    first = a.signal(BSNS[1])  # gateway -> identity -> signal, all over TLS
    assert first.status_code == 201, first.text
    assert b.signal(BSNS[1]).status_code == 201
    # signal -> match -> notify over TLS: the match is made and shown.
    involved = wait_until(
        lambda: (
            (r := a.get(f"/v1/signals/{first.json()['id']}/involvement")).status_code == 200
            and r.json()["others"]
            and r
        )
    )
    assert len(involved.json()["others"]) == 1


def test_identity_refuses_plaintext_and_unknown_clients(tls_platform: Platform) -> None:
    address = tls_platform.address("identity")
    ca = Path(tls_platform.extra_env["SLUIS_TLS_CA_FILE"]).read_bytes()
    for channel in (
        grpc.insecure_channel(address),
        grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca)),
    ):
        with channel, pytest.raises(grpc.RpcError) as exc:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
