"""Restore rehearsal: dump all five databases with pg_dump, restore each into a new empty
database with pg_restore, and prove the copy is the original (every table's rows, and
identity's keys give the same pseudonyms with the same KEK).

    make restore-rehearsal                 # a throwaway PostgreSQL with migrated, seeded data
    python -m devstack.restore_rehearsal --postgres-url postgresql://...  # sluis_<service> there

The same commands are the production procedure (docs/operations.md, "Restore"); there the
dumps come from the backup, or a CloudNativePG cluster is recovered from its object store.
"""

import argparse
import base64
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from devstack.postgres import EmbeddedPostgres
from services.common.db import migrate
from services.identity import domain
from services.identity.store import initialise_keys

SERVICES = ("identity", "signal", "match", "notify", "gateway")
PROBE_BSN = "123456782"


def pg_binary(name: str) -> str:
    """pg_dump / pg_restore: the ones pgserver ships (same major as the server), else PATH."""
    import pgserver

    shipped = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
    if shipped.exists():
        return str(shipped)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found")
    return found


def dump(url: str, path: Path) -> None:
    """Custom-format dump (what pg_restore reads); owners and grants are the target's."""
    subprocess.run(
        [
            pg_binary("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-acl",
            f"--file={path}",
            f"--dbname={url}",
        ],
        check=True,
    )


def restore(url: str, path: Path) -> None:
    """Into an empty database, all or nothing."""
    subprocess.run(
        [
            pg_binary("pg_restore"),
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url}",
            str(path),
        ],
        check=True,
    )


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Per user table: (rows, md5 over the rows in a fixed order)."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL(
                "SELECT count(*), COALESCE(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} t"
            ).format(sql.Identifier(schema, table))
            row = conn.execute(query).fetchone()
            assert row is not None
            out[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
    return out


def pseudonym_of(url: str, kek: bytes) -> str:
    """The probe person's pseudonym under the active key of this identity database."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT version, wrapped FROM pseudonym_keys WHERE state = 'active'").fetchone()
    if row is None:
        raise RuntimeError("no active pseudonym key")
    return domain.pseudonymise(PROBE_BSN, row[0], domain.unwrap_key(kek, bytes(row[1]))).encode()


def with_database(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)  # type: ignore[arg-type]


def rehearse(urls: Mapping[str, str], workdir: Path, kek: bytes | None = None) -> dict[str, object]:
    """Dump each database, restore it beside the original, compare; the restored copies are
    dropped again. Raises on any difference."""
    report: dict[str, object] = {}
    for service, url in urls.items():
        path = workdir / f"{service}.dump"
        dump(url, path)
        scratch = f"{conninfo_to_dict(url)['dbname']}_restore_check"
        admin = with_database(url, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        restored = with_database(url, scratch)
        try:
            restore(restored, path)
            original, copy = fingerprint(url), fingerprint(restored)
            if original != copy:
                differs = sorted(t for t in original.keys() | copy.keys() if original.get(t) != copy.get(t))
                raise RuntimeError(f"{service}: restored copy differs in {differs}")
            entry: dict[str, object] = {
                "tables": len(copy),
                "rows": sum(n for n, _ in copy.values()),
                "dump_bytes": path.stat().st_size,
            }
            if service == "identity" and kek is not None:
                same = pseudonym_of(url, kek) == pseudonym_of(restored, kek)
                if not same:
                    raise RuntimeError("identity: the restored keys give other pseudonyms")
                entry["same_pseudonyms"] = True
            report[service] = entry
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
                )
    return report


def prepare_sample(pg: EmbeddedPostgres, kek: bytes) -> dict[str, str]:
    """Five migrated databases, identity initialised and the gateway seeded with demo data."""
    from devstack.platform import migrations_of
    from services.gateway.demo import seed_demo

    urls: dict[str, str] = {}
    for service in SERVICES:
        urls[service] = pg.create_database(f"sluis_{service}", drop_existing=True)
        migrate(urls[service], migrations_of(service))
    initialise_keys(urls["identity"], kek)
    seed_demo(urls["gateway"], "rehearsal")
    return urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.restore_rehearsal", description=__doc__)
    parser.add_argument("--postgres-url", default="", help="a server holding sluis_<service> databases")
    parser.add_argument("--kek", default="", help="base64 KEK of that identity database (pseudonym check)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sluis-restore-") as tmp:
        workdir = Path(tmp)
        if args.postgres_url:
            urls = {s: with_database(args.postgres_url, f"sluis_{s}") for s in SERVICES}
            kek = base64.b64decode(args.kek) if args.kek else None
            report = rehearse(urls, workdir, kek)
        else:
            pg = EmbeddedPostgres(workdir / "pg", throwaway=True).start()
            try:
                kek = secrets.token_bytes(32)
                report = rehearse(prepare_sample(pg, kek), workdir, kek)
            finally:
                pg.stop()
    print(json.dumps({"restored": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
