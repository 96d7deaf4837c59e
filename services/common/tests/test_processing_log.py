"""The processing log (issue 13): the register covers every gRPC method and REST/portal
endpoint (what it must show 3), and log lines follow the standard and identify nobody on
their own (what it must show 4)."""

import asyncio
import importlib
import json
from unittest import mock

import psycopg
import pytest

from services.common import processing_log
from services.common.db import open_pool
from services.common.processing_log import Line
from services.common.processing_register import parse_duration, register, retention_rules

SERVICES = {
    "identity": "sluis.identity.v1.identity_pb2",
    "signal": "sluis.signal.v1.signal_pb2",
    "match": "sluis.match.v1.match_pb2",
    "notify": "sluis.notify.v1.notify_pb2",
    "federation": "sluis.federation.v1.federation_pb2",
}


def grpc_methods() -> set[str]:
    """Every method of every service, by its full name, from the contracts."""
    out = set()
    for module in SERVICES.values():
        for service in importlib.import_module(module).DESCRIPTOR.services_by_name.values():
            out |= {f"{service.full_name}/{m.name}" for m in service.methods}
    return out


def flask_endpoints() -> set[str]:
    from services.gateway.app import create_app
    from services.gateway.settings import GatewaySettings

    settings = GatewaySettings(
        region="t", database_url="postgresql://unused", secret_key="k" * 32, log_level="WARNING"
    )
    app = create_app(settings, backends=mock.MagicMock(), store=mock.MagicMock())
    return {r.endpoint for r in app.url_map.iter_rules()}


def test_every_grpc_method_is_in_the_register() -> None:
    """A new RPC fails here until it names its processing activity (or why it has none)."""
    reg = register()
    missing = grpc_methods() - reg.covered_grpc()
    assert not missing, f"not in services/common/processing_activities.yaml: {sorted(missing)}"
    assert not reg.covered_grpc() - grpc_methods(), "the register names methods that do not exist"


def test_every_rest_and_portal_endpoint_is_in_the_register() -> None:
    reg = register()
    endpoints = flask_endpoints()
    missing = endpoints - reg.covered_endpoints()
    assert not missing, f"not in services/common/processing_activities.yaml: {sorted(missing)}"
    assert not reg.covered_endpoints() - endpoints, "the register names endpoints that do not exist"


def test_the_register_is_complete_and_its_retention_is_a_purge_rule() -> None:
    reg = register()
    for a in reg.activities.values():
        assert a.purpose and a.legal_basis and parse_duration(a.retention).days > 0
    rules = retention_rules()
    assert {r.table for r in rules} == {"processing_log", "processing_audit"}
    assert len(rules) == len(reg.activities) + 1
    assert parse_duration("P5Y").days == 5 * 365 and parse_duration("P30D").days == 30
    with pytest.raises(ValueError):
        parse_duration("5 jaar")


def test_subject_is_encrypted_and_found_by_tag_only() -> None:
    keys = processing_log.LogKeys.from_secret(b"x" * 32)
    sealed = keys.encrypt("2.abcdef")
    assert b"2.abcdef" not in sealed and keys.decrypt(sealed) == "2.abcdef"
    assert keys.encrypt("2.abcdef") != sealed  # a fresh nonce every time: lines do not link
    assert keys.lookup_tag("2.abcdef") == keys.lookup_tag("2.abcdef") != keys.lookup_tag("2.abcdeg")
    other = processing_log.LogKeys.from_secret(b"y" * 32)
    assert other.lookup_tag("2.abcdef") != keys.lookup_tag("2.abcdef")


def test_foreign_operation_from_traceparent_and_baggage() -> None:
    from opentelemetry import context

    tp = "00-" + "AB" * 16 + "-" + "cd" * 8 + "-01"
    found = processing_log.foreign_from_traceparent(tp, "https://sluis.nl/organisaties/o1/koppelingen/k1")
    assert (found.trace_id, found.operation_id) == ("ab" * 16, "cd" * 8)
    for bad in (
        "",
        "00-" + "0" * 32 + "-" + "cd" * 8 + "-01",
        "00-xyz-cd-01",
        "00-" + "ab" * 16 + "-" + "0" * 16,
    ):
        assert processing_log.foreign_from_traceparent(bad) == processing_log.Foreign()
    token = context.attach(processing_log.with_foreign(found))
    try:
        assert processing_log.current_foreign() == found
        # An empty one drops what was there (the gateway does this for every request first).
        inner = context.attach(processing_log.with_foreign(processing_log.Foreign()))
        assert processing_log.current_foreign() == processing_log.Foreign()
        context.detach(inner)
        assert processing_log.current_foreign() == found
    finally:
        context.detach(token)
    assert processing_log.current_foreign() == processing_log.Foreign()


def test_lines_follow_the_standard_and_survive_a_key_rotation(new_database) -> None:
    """Lines carry the standard's fields; nothing in the table names the person; after a
    pseudonym rotation the person's new pseudonym still finds the old lines (tag links)."""
    url = new_database("plog", [_MIGRATION_DIR])

    async def work() -> list:
        pool = await open_pool(url, name="test")
        try:
            async with pool.connection() as conn, conn.transaction():
                await processing_log.write(
                    conn,
                    "sluis-test",
                    [
                        Line(
                            "signal.register",
                            "signalering",
                            "1.anna",
                            attributes={"sluis.signal_id": "s1"},
                            actor_id="p1",
                        ),
                        Line(
                            "match.involvement",
                            "betrokkenheid-geweigerd",
                            "1.anna",
                            status="error",
                            actor_id="p2",
                            actor_organisation_id="o2",
                        ),
                    ],
                )
            async with pool.connection() as conn, conn.transaction():
                await processing_log.link_rekeyed(conn, {"1.anna": "2.anna"})
                await processing_log.write(
                    conn, "sluis-test", [Line("signal.renew", "signalering", "2.anna")]
                )
            async with pool.connection() as conn:
                return await processing_log.read(conn, "2.anna")
        finally:
            await pool.close()

    lines = asyncio.run(work())
    assert [x.name for x in lines] == ["signal.register", "match.involvement", "signal.renew"]
    first, refused = lines[0], lines[1]
    assert len(first.trace_id) == 32 and len(first.operation_id) == 16
    assert first.status_code == "ok" and refused.status_code == "error"
    assert first.start_time.seconds and first.end_time.seconds
    # The second actor in one operation gets its own operation id under the first one.
    assert refused.parent_operation_id == first.operation_id != refused.operation_id
    assert (first.actor_id, refused.actor_id, refused.actor_organisation_id) == ("p1", "p2", "o2")
    attributes = processing_log.standard_attributes(first)
    assert attributes["dpl.core.processing_activity_id"] == "https://sluis.nl/verwerkingsregister/signalering"
    assert attributes["dpl.core.data_subject_id_type"] == processing_log.SUBJECT_TYPE
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT * FROM processing_log").fetchall()
        text = json.dumps(
            [[bytes(c).hex() if isinstance(c, bytes | memoryview) else str(c) for c in r] for r in rows]
        )
        blobs = conn.execute("SELECT subject_id, subject_tag FROM processing_log").fetchall()
    assert "anna" not in text and all(b"anna" not in bytes(x) for row in blobs for x in row)


_MIGRATION_DIR = processing_log.MIGRATIONS
