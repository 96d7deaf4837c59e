"""Issue 14 row 11: bulk-loaded BSNs never rest outside identity, neither in a table nor in a
dead row, TOAST or the WAL. After a bulk load and a CHECKPOINT every file of the cluster's
non-identity databases and every WAL segment is searched for the loaded BSNs as ASCII digits."""

from pathlib import Path

import psycopg
import pytest

from devstack.platform import Platform
from tests.helpers import Api, valid_bsns, wait_until

HEADER = (
    "bsn,birthDate,informedParty,informedMethod,informedOn,postponeReason,multiProblemAttested,consentGiven"
)
# A marker the scan must find: proves it reads what PostgreSQL wrote (a table file and the WAL).
PROBE = "731731731"


def _files(datadir: Path, skip: Path) -> list[Path]:
    return [p for p in datadir.rglob("*") if p.is_file() and skip not in p.parents]


def _found(files: list[Path], needles: list[bytes]) -> dict[bytes, Path]:
    found: dict[bytes, Path] = {}
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:  # a file removed while we walk (temporary files)
            continue
        for needle in needles:
            if needle not in found and needle in data:
                found[needle] = path
    return found


def test_no_bulk_bsn_in_data_files_or_wal(platform: Platform, professionals) -> None:
    if platform.pg is None:
        pytest.skip("an external PostgreSQL: its data directory is not ours to read")
    bsns = valid_bsns(300, start=730_000_000)
    rows = [f"{bsn},1980-02-03,person,letter,2026-01-02,,true,true" for bsn in bsns]
    body = ("\r\n".join([HEADER, *rows]) + "\r\n").encode()
    api = Api(platform.url, professionals[0]["apiKey"])
    r = api.session.post(
        platform.url + "/v1/bulk-loads", data=body, headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert r.status_code == 202, r.text
    job = wait_until(
        lambda: (d := api.get(r.headers["Location"]).json())["state"] == "done" and d, timeout=120
    )
    assert job["rowsDone"] == len(bsns)

    admin_url = platform.pg.url()
    with psycopg.connect(platform.database_urls["gateway"], autocommit=True) as conn:
        conn.execute("CREATE TABLE scan_probe (t text)")
        conn.execute("INSERT INTO scan_probe VALUES (%s)", (f"probe {PROBE}",))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        oid = conn.execute("SELECT oid FROM pg_database WHERE datname = 'sluis_identity'").fetchone()
    assert oid is not None
    datadir = platform.pg.datadir
    files = _files(datadir, datadir / "base" / str(oid[0]))
    assert any(p.parent.name == "pg_wal" for p in files)

    found = _found(files, [PROBE.encode(), *(b.encode() for b in bsns)])
    assert PROBE.encode() in found, "the scan did not see a value written to a table"
    leaked = {k.decode(): str(v.relative_to(datadir)) for k, v in found.items() if k != PROBE.encode()}
    assert not leaked, f"BSNs at rest outside identity: {leaked}"
