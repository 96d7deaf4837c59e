"""How services reach each other: calls spread over replicas, a draining replica is left
alone, mutual TLS refuses strangers, and the admin port answers probes and Prometheus."""

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests

from devstack.certs import make_ca, make_leaf
from services.common import clients, metrics
from services.common.config import ServiceSettings
from services.common.grpcserver import GrpcService

WHO = "/sluis.test.v1.Who/Name"


def start_replica(run_service: Any, name: str, **settings: Any) -> Any:
    """A GrpcService that answers WHO with its own name (no database of its own)."""
    config = ServiceSettings(region="test", database_url="", grpc_listen="127.0.0.1:0", **settings)

    async def name_of(request: bytes, context: Any) -> bytes:
        return name.encode()

    handler = grpc.method_handlers_generic_handler(
        "sluis.test.v1.Who", {"Name": grpc.unary_unary_rpc_method_handler(name_of)}
    )

    async def factory() -> GrpcService:
        service = GrpcService(f"replica-{name}", config)
        service.add_servicer(
            lambda _s, server: server.add_generic_rpc_handlers((handler,)), None, "sluis.test.v1.Who"
        )
        return service

    return run_service(factory)


def call_many(target: str, n: int) -> Counter[str]:
    channel = clients.sync_channel(target)
    try:
        who: Any = channel.unary_unary(WHO)
        return Counter(who(b"", timeout=10).decode() for _ in range(n))
    finally:
        channel.close()


def test_calls_spread_over_every_replica(run_service: Any) -> None:
    a = start_replica(run_service, "a")
    b = start_replica(run_service, "b")
    # What the headless Service's DNS name resolves to in Kubernetes: every ready pod.
    counts = call_many(f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}", 40)
    assert set(counts) == {"a", "b"}
    # round_robin: turn and turn about, not one replica for good (pick_first)
    assert abs(counts["a"] - counts["b"]) <= 2


def test_a_draining_replica_gets_no_more_calls(run_service: Any) -> None:
    a = start_replica(run_service, "a")
    b = start_replica(run_service, "b", drain_seconds=30.0)
    channel = clients.sync_channel(f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}")
    who: Any = channel.unary_unary(WHO)
    try:
        assert {who(b"", timeout=10).decode() for _ in range(10)} == {"a", "b"}
        # SIGTERM on b: readiness NOT_SERVING first, the server keeps serving while it drains.
        b.call(b.service.drain_started())
        seen = [who(b"", timeout=10).decode() for _ in range(20)]
        # The health watch reaches the client within a call or two.
        assert set(seen[5:]) == {"a"}
    finally:
        channel.close()


def test_mutual_tls_refuses_clients_without_a_platform_certificate(
    run_service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, ca_key = make_ca(tmp_path / "ca")
    for key, value in make_leaf(tmp_path, "replica", ca, ca_key).items():
        monkeypatch.setenv(key, value)
    server = start_replica(run_service, "tls")
    target = f"127.0.0.1:{server.port}"

    # A client with a certificate from the platform CA (the same environment) gets through.
    assert call_many(target, 3) == Counter({"tls": 3})

    def refused(channel: grpc.Channel) -> grpc.StatusCode:
        with channel:
            who: Any = channel.unary_unary(WHO)
            with pytest.raises(grpc.RpcError) as exc:
                who(b"", timeout=3)
            code: grpc.StatusCode = exc.value.code()
            return code

    # Plaintext, TLS without a client certificate, and a certificate of another CA: refused.
    assert refused(grpc.insecure_channel(target)) == grpc.StatusCode.UNAVAILABLE
    no_cert = grpc.ssl_channel_credentials(root_certificates=ca.read_bytes())
    assert refused(grpc.secure_channel(target, no_cert)) == grpc.StatusCode.UNAVAILABLE
    other_ca, other_key = make_ca(tmp_path / "other", "someone-else")
    stranger = make_leaf(tmp_path / "other", "stranger", other_ca, other_key)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=Path(stranger["SLUIS_TLS_KEY_FILE"]).read_bytes(),
        certificate_chain=Path(stranger["SLUIS_TLS_CERT_FILE"]).read_bytes(),
    )
    assert refused(grpc.secure_channel(target, credentials)) == grpc.StatusCode.UNAVAILABLE


def test_incomplete_tls_settings_are_a_configuration_error() -> None:
    from services.common.config import ConfigError

    with pytest.raises(ConfigError, match="go together"):
        clients.tls_settings({"SLUIS_TLS_CERT_FILE": "/x.crt"}).read()
    assert not clients.tls_settings({}).enabled


def test_admin_port_serves_probes_and_metrics_without_person_data(run_service: Any) -> None:
    replica = start_replica(run_service, "m", admin_listen="127.0.0.1:0")
    admin = replica.service.admin
    base = f"http://127.0.0.1:{admin.port}"
    call_many(replica.address, 2)
    assert requests.get(f"{base}/livez", timeout=5).status_code == 200
    assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
    body = requests.get(f"{base}/metrics", timeout=5).text
    assert 'sluis_rpc_requests_total{code="OK",method="/sluis.test.v1.Who/Name",service="replica-m"}' in body
    assert "sluis_rpc_duration_seconds_bucket" in body
    metrics.record_purge_run("ok", rows=3, service="signal")
    assert (
        'sluis_purge_runs_total{outcome="ok",service="signal"}'
        in requests.get(f"{base}/metrics", timeout=5).text
    )
    # Draining: readiness fails at once, liveness does not.
    replica.call(replica.service.drain_started())
    assert requests.get(f"{base}/readyz", timeout=5).status_code == 503
    assert requests.get(f"{base}/livez", timeout=5).status_code == 200


def test_outbox_and_dead_letter_gauges_come_from_the_database(new_database: Any) -> None:
    import psycopg

    from services.common import outbox

    url = new_database("metrics", [outbox.MIGRATIONS])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO outbox (destination, payload, created_at) VALUES"
            " ('match', '', now() - interval '90 seconds'), ('match', '', now())"
        )

    async def read() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await metrics.database_gauges(conn, "signal")

    asyncio.run(read())
    assert metrics.OUTBOX_DEPTH.labels("signal", "match")._value.get() == 2
    assert metrics.OUTBOX_AGE.labels("signal", "match")._value.get() >= 90


def test_http_metrics_name_the_endpoint_not_the_path() -> None:
    from flask import Flask

    app = Flask("metrics-test")

    @app.get("/v1/signals/<signal_id>")
    def get_signal(signal_id: str) -> str:
        return "ok"

    metrics.instrument_flask(app)
    client = app.test_client()
    assert client.get("/v1/signals/123456782").status_code == 200
    assert client.get("/nergens").status_code == 404
    body, _ = metrics.exposition()
    text = body.decode()
    assert 'sluis_http_requests_total{endpoint="get_signal",method="GET",status="200"}' in text
    assert 'endpoint="unmatched",method="GET",status="404"' in text
    assert "123456782" not in text


def test_metric_labels_can_never_carry_person_data() -> None:
    """Labels name services, RPCs, endpoints, codes and queues; nothing about a person."""
    from prometheus_client import REGISTRY

    allowed = {"service", "method", "code", "endpoint", "status", "destination", "channel", "outcome", "le"}
    for metric in REGISTRY.collect():
        if metric.name.startswith("sluis_"):
            for sample in metric.samples:
                assert set(sample.labels) <= allowed, (metric.name, sample.labels)
