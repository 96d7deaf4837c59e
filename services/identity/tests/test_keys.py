"""identity's keys at start: no silent first key, a versioned KEK from files, re-wrap."""

import base64
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common.config import ConfigError
from services.identity import cli
from services.identity.server import MIGRATIONS, IdentitySettings, create_service

BSN = "123456782"


def kek_file(directory: Path, version: int, fill: bytes) -> None:
    directory.mkdir(exist_ok=True)
    (directory / str(version)).write_text(base64.b64encode(fill * 32).decode() + "\n")


def settings_for(url: str, kek_dir: Path) -> IdentitySettings:
    return IdentitySettings(region="test", database_url=url, grpc_listen="127.0.0.1:0", kek_dir=str(kek_dir))


def command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, kek_dir: Path, *args: str
) -> Any:
    monkeypatch.setenv("SLUIS_REGION", "test")
    monkeypatch.setenv("SLUIS_DATABASE_URL", url)
    monkeypatch.setenv("SLUIS_IDENTITY_KEK_DIR", str(kek_dir))
    assert cli.run(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def pseudonym(run_service: Any, settings: IdentitySettings) -> str:
    svc = run_service(lambda: create_service(settings))
    with grpc.insecure_channel(svc.address) as channel:
        reply = pb_grpc.IdentityServiceStub(channel).Pseudonymise(pb.PseudonymiseRequest(bsn=BSN), timeout=5)
    return str(reply.pseudonym)


def test_refuses_to_start_on_an_empty_key_table(new_database: Any, run_service: Any, tmp_path: Path) -> None:
    kek_file(tmp_path / "kek", 1, b"a")
    settings = settings_for(new_database("identity", MIGRATIONS), tmp_path / "kek")
    with pytest.raises(ConfigError, match=r"services\.identity init"):
        run_service(lambda: create_service(settings))


def test_init_once_then_rewrap_to_a_new_kek_version_keeps_pseudonyms(
    new_database: Any,
    run_service: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, keks = new_database("identity", MIGRATIONS), tmp_path / "kek"
    kek_file(keks, 1, b"a")
    assert command(monkeypatch, capsys, url, keks, "init") == {"initialised": True, "kek_version": 1}
    # A second init changes nothing (the key exists).
    assert command(monkeypatch, capsys, url, keks, "init")["initialised"] is False
    before = pseudonym(run_service, settings_for(url, keks))

    # New KEK version 2 beside 1 (a new key in the Secret), then re-wrap.
    kek_file(keks, 2, b"b")
    assert command(monkeypatch, capsys, url, keks, "rewrap") == {
        "kek_version": 2,
        "keys_by_previous_kek_version": {"1": 1},
        "vault_rows_by_previous_kek_version": {},
    }
    (keks / "1").unlink()  # version 1 retired: everything opens with version 2 alone
    assert pseudonym(run_service, settings_for(url, keks)) == before
    assert command(monkeypatch, capsys, url, keks, "rewrap")["keys_by_previous_kek_version"] == {"2": 1}


def test_a_kek_that_opens_nothing_is_refused(
    new_database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, keks = new_database("identity", MIGRATIONS), tmp_path / "kek"
    kek_file(keks, 1, b"a")
    command(monkeypatch, capsys, url, keks, "init")
    (keks / "1").unlink()
    kek_file(keks, 2, b"z")
    assert cli.run(["rewrap"]) == 1
    assert "kek_unknown" in capsys.readouterr().err


def test_operator_commands_speak_mutual_tls_when_the_pod_has_certificates(
    new_database: Any,
    run_service: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from devstack.certs import make_ca, make_leaf

    url, keks = new_database("identity", MIGRATIONS), tmp_path / "kek"
    kek_file(keks, 1, b"a")
    command(monkeypatch, capsys, url, keks, "init")
    ca, ca_key = make_ca(tmp_path / "pki")
    for key, value in make_leaf(tmp_path / "pki", "identity", ca, ca_key).items():
        monkeypatch.setenv(key, value)
    svc = run_service(lambda: create_service(settings_for(url, keks)))
    monkeypatch.setenv("SLUIS_IDENTITY_ADDR", f"localhost:{svc.port}")
    assert cli.run(["rotate", "start"]) == 0
    assert json.loads(capsys.readouterr().out)["to_key_version"] == 2
