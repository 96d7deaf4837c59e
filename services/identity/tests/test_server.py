import base64

import grpc
import pytest
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.identity.server import MIGRATIONS, IdentitySettings, create_service
from services.identity.store import initialise_keys

KEK = base64.b64encode(b"0" * 32).decode()


@pytest.fixture
def identity(new_database, run_service):
    url = new_database("identity", MIGRATIONS)
    settings = IdentitySettings(region="test", database_url=url, grpc_listen="127.0.0.1:0", kek=KEK)
    # identity starts only on an initialised key table (`identity init`)
    initialise_keys(settings.database_url, settings.kek_bytes())
    svc = run_service(lambda: create_service(settings))
    with grpc.insecure_channel(svc.address) as channel:
        yield pb_grpc.IdentityServiceStub(channel)


def test_pseudonymise_over_grpc(identity) -> None:
    a = identity.Pseudonymise(pb.PseudonymiseRequest(bsn="123456782"), timeout=5)
    b = identity.Pseudonymise(pb.PseudonymiseRequest(bsn="123456782"), timeout=5)
    assert a.pseudonym == b.pseudonym and a.key_version == 1
    assert "123456782" not in a.pseudonym


def test_invalid_bsn_is_invalid_argument_without_echo(identity) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        identity.Pseudonymise(pb.PseudonymiseRequest(bsn="123456789"), timeout=5)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "123456789" not in (exc.value.details() or "")
    assert ("sluis-reason", "bsn_checksum") in exc.value.trailing_metadata()


def test_batch_fails_only_invalid_items(identity) -> None:
    resp = identity.PseudonymiseBatch(
        pb.PseudonymiseBatchRequest(bsns=["123456782", "1", "111222333"]), timeout=5
    )
    assert [bool(r.pseudonym) for r in resp.results] == [True, False, True]
    assert resp.results[1].error_reason == "bsn_format"
