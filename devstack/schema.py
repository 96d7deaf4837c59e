"""Each service's committed `schema.sql`: what its migrations produce, as pg_dump shows it.

A test (services/common/tests/test_schema.py) migrates a fresh database per service and
compares its dump with the committed file, so a migration that changes the schema must
come with the regenerated file, and a reviewer sees the resulting schema in one place.

Regenerate after adding a migration:  make schema   (python -m devstack.schema)
"""

import importlib
import re
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import pgserver

ROOT = Path(__file__).resolve().parent.parent
# The back ends whose schema is committed (the gateway's follows with its restructure).
SERVICES = ("identity", "signal", "match", "notify")

# pg_dump output that says nothing about the schema: settings, comments, and the random
# \restrict key that recent pg_dump versions write.
_NOISE = re.compile(r"^(--.*|SET .*|SELECT pg_catalog\.set_config.*|\\(un)?restrict .*)$")


def migrations_of(service: str) -> Sequence[Path]:
    """The migration directories of a service, as its server applies them."""
    server = importlib.import_module(f"services.{service}.server")
    directories: Sequence[Path] = server.MIGRATIONS
    return directories


def schema_file(service: str) -> Path:
    return ROOT / "services" / service / "schema.sql"


def normalise(dump: str) -> str:
    """The dump without noise lines and with single blank lines between statements."""
    lines = [line.rstrip() for line in dump.splitlines() if not _NOISE.match(line.strip())]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n"


def dump_schema(url: str) -> str:
    """`pg_dump --schema-only` of one database, normalised."""
    pg_dump = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    out = subprocess.run(
        [str(pg_dump), "--schema-only", "--no-owner", "--no-privileges", "--no-comments", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return normalise(out)


def main() -> None:
    """Write services/<name>/schema.sql for every service from a throwaway database."""
    from devstack.postgres import EmbeddedPostgres
    from services.common.db import migrate

    pg = EmbeddedPostgres(ROOT / ".cache" / "pg-schema", throwaway=True).start()
    try:
        for service in SERVICES:
            name = f"schema_{service}_{uuid.uuid4().hex[:8]}"
            url = pg.create_database(name)
            try:
                migrate(url, migrations_of(service))
                schema_file(service).write_text(dump_schema(url))
            finally:
                pg.drop_database(name)
            print(f"wrote {schema_file(service).relative_to(ROOT)}", file=sys.stderr)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
