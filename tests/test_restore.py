"""The scripted restore rehearsal: pg_dump and pg_restore of all five databases against the
embedded PostgreSQL, the copies identical and identity's keys giving the same pseudonyms."""

import secrets
from pathlib import Path
from typing import Any

import pytest

from devstack import restore_rehearsal
from devstack.platform import migrations_of
from services.common.db import migrate
from services.identity.store import initialise_keys


def test_all_five_databases_restore_to_identical_copies(new_database: Any, tmp_path: Path) -> None:
    kek = secrets.token_bytes(32)
    urls = {s: new_database(s) for s in restore_rehearsal.SERVICES}
    for service, url in urls.items():
        migrate(url, migrations_of(service))
    initialise_keys(urls["identity"], kek)
    from services.gateway.demo import seed_demo

    seed_demo(urls["gateway"], "rehearsal")

    report = restore_rehearsal.rehearse(urls, tmp_path, kek)
    assert set(report) == set(restore_rehearsal.SERVICES)
    assert report["identity"]["same_pseudonyms"] is True  # type: ignore[index]
    assert report["gateway"]["rows"] > 0  # type: ignore[index]


def test_a_restore_into_the_wrong_key_material_is_caught(new_database: Any, tmp_path: Path) -> None:
    url = new_database("identity")
    migrate(url, migrations_of("identity"))
    initialise_keys(url, secrets.token_bytes(32))
    with pytest.raises(RuntimeError):
        restore_rehearsal.pseudonym_of(url, secrets.token_bytes(32))
