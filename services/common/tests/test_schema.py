"""Each service's migrations produce exactly its committed schema.sql (regenerate: make schema)."""

import psycopg
import pytest

from devstack.schema import SERVICES, dump_schema, migrations_of, schema_file


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_produce_the_committed_schema(new_database, service: str) -> None:
    migrated = dump_schema(new_database(service, migrations_of(service)))
    assert migrated == schema_file(service).read_text(), (
        f"services/{service}/schema.sql is out of date: run `make schema` and commit the result"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_committed_schema_loads_to_the_same_schema(new_database, service: str) -> None:
    url = new_database(service)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(schema_file(service).read_text().encode())
    assert dump_schema(url) == schema_file(service).read_text()
