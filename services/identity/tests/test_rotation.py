"""Key rotation over real gRPC and PostgreSQL, time driven by a frozen clock."""

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.clock import FrozenClock
from services.identity import cli
from services.identity.server import MIGRATIONS, IdentitySettings, create_service
from services.identity.store import initialise_keys

KEK = base64.b64encode(b"1" * 32).decode()
BSNS = ["123456782", "111222333", "999999990"]


@pytest.fixture
def setup(new_database, run_service):
    url = new_database("identity", MIGRATIONS)
    clock = FrozenClock(datetime.now(UTC))
    settings = IdentitySettings(
        region="test", database_url=url, grpc_listen="127.0.0.1:0", kek=KEK, rotation_grace_seconds=30
    )
    # identity starts only on an initialised key table (`identity init`)
    initialise_keys(settings.database_url, settings.kek_bytes())
    svc = run_service(lambda: create_service(settings, clock=clock))
    with grpc.insecure_channel(svc.address) as channel:
        yield pb_grpc.IdentityServiceStub(channel), clock, url, svc, settings


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    return exc.value.code()


def pseudonyms(stub, bsns=BSNS) -> list[str]:
    return [
        r.pseudonym for r in stub.PseudonymiseBatch(pb.PseudonymiseBatchRequest(bsns=bsns), timeout=5).results
    ]


def active_version_when_idle(stub) -> str:
    """GetRotation without a rotation: NOT_FOUND, naming the current key version."""
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetRotation(pb.GetRotationRequest(), timeout=5)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    trailing: list[tuple[str, str]] = list(exc.value.trailing_metadata() or ())  # type: ignore[arg-type]
    return dict(trailing)["sluis-meta-active-key-version"]


def test_rotation_end_to_end(setup) -> None:
    stub, clock, url, _, _ = setup
    assert active_version_when_idle(stub) == "1"
    old = pseudonyms(stub)

    rotation = stub.StartRotation(pb.StartRotationRequest(), timeout=5).rotation
    assert (rotation.from_key_version, rotation.to_key_version) == (1, 2)
    assert rotation.state == pb.ROTATION_STATE_IN_PROGRESS
    assert rotation.switch_at.ToDatetime(UTC) - rotation.started_at.ToDatetime(UTC) == timedelta(seconds=30)
    assert code_of(lambda: stub.StartRotation(pb.StartRotationRequest(), timeout=5)) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    got = stub.GetRotation(pb.GetRotationRequest(), timeout=5).rotation
    assert got.rotation_id == rotation.rotation_id
    assert (
        stub.GetRotation(pb.GetRotationRequest(rotation_id=rotation.rotation_id), timeout=5).rotation == got
    )

    # Announced: still the old key until the switch; finishing now is refused.
    assert pseudonyms(stub) == old
    assert code_of(
        lambda: stub.FinishRotation(pb.FinishRotationRequest(rotation_id=rotation.rotation_id), timeout=5)
    ) == (grpc.StatusCode.FAILED_PRECONDITION)

    clock.advance(timedelta(seconds=31))
    new = pseudonyms(stub)
    assert all(p.startswith("2.") for p in new)
    rekeyed = stub.RekeyPseudonyms(
        pb.RekeyPseudonymsRequest(
            rotation_id=rotation.rotation_id, pseudonyms=[*old, new[0]], include_previous=True
        ),
        timeout=5,
    )
    # Old -> new equals pseudonymising under the new key; new comes back unchanged.
    assert list(rekeyed.pseudonyms) == [*new, new[0]]
    assert list(rekeyed.previous_pseudonyms) == [*old, old[0]]
    bad = "7." + old[0].split(".", 1)[1]
    assert code_of(
        lambda: stub.RekeyPseudonyms(
            pb.RekeyPseudonymsRequest(rotation_id=rotation.rotation_id, pseudonyms=[bad]), timeout=5
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT)

    finished = stub.FinishRotation(pb.FinishRotationRequest(), timeout=5).rotation
    assert finished.state == pb.ROTATION_STATE_FINISHED and finished.rotation_id == rotation.rotation_id
    assert code_of(
        lambda: stub.RekeyPseudonyms(
            pb.RekeyPseudonymsRequest(rotation_id=rotation.rotation_id, pseudonyms=old), timeout=5
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION)
    assert active_version_when_idle(stub) == "2"
    assert pseudonyms(stub) == new
    # The retired key is deleted, not merely marked.
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version, state, wrapped IS NULL FROM pseudonym_keys ORDER BY version"
        ).fetchall()
    assert rows == [(1, "retired", True), (2, "active", False)]

    # The next rotation goes from 2 to 3.
    again = stub.StartRotation(pb.StartRotationRequest(), timeout=5).rotation
    assert (again.from_key_version, again.to_key_version) == (2, 3)


def test_only_one_rotation_when_operators_race(setup) -> None:
    stub = setup[0]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(stub.StartRotation, pb.StartRotationRequest(), timeout=10) for _ in range(4)]
    codes = []
    for f in futures:
        try:
            f.result()
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as exc:
            codes.append(exc.code())
    assert sorted(c.name for c in codes) == ["FAILED_PRECONDITION"] * 3 + ["OK"]


def test_unknown_rotation_is_not_found(setup) -> None:
    stub = setup[0]
    for rid in ("00000000-0000-0000-0000-000000000000", "nonsense"):
        assert code_of(
            lambda rid=rid: stub.GetRotation(pb.GetRotationRequest(rotation_id=rid), timeout=5)
        ) == (grpc.StatusCode.NOT_FOUND)
    assert code_of(
        lambda: stub.RekeyPseudonyms(pb.RekeyPseudonymsRequest(rotation_id="", pseudonyms=[]), timeout=5)
    ) == (grpc.StatusCode.INVALID_ARGUMENT)


def test_another_replica_rekeys_at_once(setup, run_service) -> None:
    """A rotation started on one replica is usable on another without waiting for its refresh."""
    stub, clock, _, _, settings = setup
    other = run_service(lambda: create_service(settings, clock=clock))
    old = pseudonyms(stub)
    with grpc.insecure_channel(other.address) as channel:
        replica = pb_grpc.IdentityServiceStub(channel)
        rotation = stub.StartRotation(pb.StartRotationRequest(), timeout=5).rotation
        clock.advance(timedelta(seconds=31))
        rekeyed = replica.RekeyPseudonyms(
            pb.RekeyPseudonymsRequest(rotation_id=rotation.rotation_id, pseudonyms=old), timeout=5
        )
        assert list(rekeyed.pseudonyms) == pseudonyms(stub)
        assert pseudonyms(replica) == pseudonyms(stub)


def test_operator_command(setup, monkeypatch, capsys) -> None:
    _, clock, _, svc, _ = setup
    monkeypatch.setenv("SLUIS_IDENTITY_ADDR", svc.address)
    assert cli.run(["rotate", "status"]) == 1
    assert "no_rotation" in capsys.readouterr().err
    assert cli.run(["rotate", "start"]) == 0
    started = capsys.readouterr().out
    assert '"to_key_version": 2' in started and "ROTATION_STATE_IN_PROGRESS" in started
    assert cli.run(["rotate", "status"]) == 0
    assert cli.run(["rotate", "finish"]) == 1  # not switched yet
    assert "rotation_not_switched" in capsys.readouterr().err
    clock.advance(timedelta(seconds=31))
    assert cli.run(["rotate", "finish"]) == 0
    assert "ROTATION_STATE_FINISHED" in capsys.readouterr().out
    assert cli.run(["rotate", "bogus"]) == 2
