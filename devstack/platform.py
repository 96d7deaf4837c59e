"""The whole platform on one machine: real PostgreSQL, Redis and SMTP, five service processes.

Used by `make run`, by the cross-service tests in tests/ and by the benchmarks. Each service
runs as its own process with its own database, talking gRPC over loopback sockets, exactly
as in Kubernetes. External PostgreSQL, Redis or SMTP are used instead when
SLUIS_DEV_POSTGRES_URL (a URL of a server where databases may be created),
SLUIS_DEV_REDIS_URL or SLUIS_DEV_SMTP (host:port) are set.
"""

import base64
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.conninfo import make_conninfo

from devstack.brp import BrpServer
from devstack.mailbox import Mailbox, SmtpServer
from devstack.postgres import EmbeddedPostgres
from devstack.redis import EmbeddedRedis, free_port
from services.common.clients import channel_credentials, tls_settings
from services.common.db import migrate

ROOT = Path(__file__).resolve().parent.parent
# The municipalities of the pilot regions (CBS codes): a move elsewhere leaves the region.
REGION_MUNICIPALITIES = {"rotterdam": "0599", "gelderland-midden": "0228,0202"}
BACKENDS = ("identity", "notify", "match", "signal")  # receivers before their producers
SERVICES = (*BACKENDS, "gateway")
# Processes without a port of their own: (service whose settings they use, command).
WORKERS = {"gateway-bulk": ("gateway", "bulk-worker")}
GRPC_SERVICE = {
    "identity": "sluis.identity.v1.IdentityService",
    "signal": "sluis.signal.v1.SignalService",
    "match": "sluis.match.v1.MatchService",
    "notify": "sluis.notify.v1.NotifyService",
}


def migrations_of(service: str) -> list[Path]:
    module = __import__(f"services.{service}.server", fromlist=["MIGRATIONS"])
    if hasattr(module, "MIGRATIONS"):
        return list(module.MIGRATIONS)
    return [ROOT / "services" / service / "migrations"]


@dataclass
class Platform:
    """Start with `start()`, stop with `stop()`; `url` is the gateway's base URL."""

    workdir: Path
    region: str = "rotterdam"
    ports: dict[str, int] = field(default_factory=dict)
    throwaway: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # The local BRP (devstack/brp.py) and identity's link to it; off unless asked for, so
    # tests with arbitrary valid BSNs keep working (issue 18). `make run` turns it on.
    brp: bool = False
    # Settings for one service only, e.g. match's federation link (devstack/federation.py).
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir = self.workdir.resolve()
        self.logdir = self.workdir / "logs"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.database_urls: dict[str, str] = {}
        self.pg: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.smtp: SmtpServer | None = None
        self.mailbox = Mailbox(self.workdir / "mail")
        self.brp_server: BrpServer | None = None
        for name in (*SERVICES, "smtp"):
            self.ports.setdefault(name, free_port())
        kek_file = self.workdir / "identity-kek"
        if not kek_file.exists():
            kek_file.parent.mkdir(parents=True, exist_ok=True)
            kek_file.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        self.kek = kek_file.read_text().strip()

    # -- infrastructure -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def start_infra(self) -> None:
        self.logdir.mkdir(parents=True, exist_ok=True)
        admin_url = os.environ.get("SLUIS_DEV_POSTGRES_URL", "")
        if not admin_url:
            self.pg = EmbeddedPostgres(self.workdir / "pg", throwaway=self.throwaway).start()
            admin_url = self.pg.url()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for service in SERVICES:
                name = f"sluis_{service}"
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                    conn.execute(f'CREATE DATABASE "{name}"')
                self.database_urls[service] = make_conninfo(admin_url, dbname=name)
        self.redis_url = os.environ.get("SLUIS_DEV_REDIS_URL", "")
        if not self.redis_url:
            self.redis = EmbeddedRedis(self.workdir / "redis").start()
            self.redis_url = self.redis.url
        smtp = os.environ.get("SLUIS_DEV_SMTP", "")
        if smtp:
            self.smtp_host, port = smtp.rsplit(":", 1)
            self.ports["smtp"] = int(port)
        else:
            self.smtp_host = "127.0.0.1"
            self.smtp = SmtpServer(self.mailbox, self.ports["smtp"]).start()

    def env(self, service: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'build' / 'gen'}",
            "PYTHONUNBUFFERED": "1",
            "SLUIS_REGION": self.region,
            "SLUIS_DATABASE_URL": self.database_urls[service],
            "SLUIS_LOG_LEVEL": "INFO",
            "SLUIS_IDENTITY_ADDR": self.address("identity"),
            "SLUIS_SIGNAL_ADDR": self.address("signal"),
            "SLUIS_MATCH_ADDR": self.address("match"),
            "SLUIS_NOTIFY_ADDR": self.address("notify"),
            "SLUIS_REDIS_URL": self.redis_url,
            "SLUIS_SHUTDOWN_GRACE_SECONDS": "3",
        }
        if service == "gateway":
            env["SLUIS_HTTP_LISTEN"] = f"127.0.0.1:{self.ports['gateway']}"
            env["SLUIS_PORTAL_URL"] = self.url  # invitation links
        else:
            env["SLUIS_GRPC_LISTEN"] = self.address(service)
        if service == "identity":
            env["SLUIS_IDENTITY_KEK"] = self.kek
            if self.brp_server is not None:
                env["SLUIS_BRP_URL"] = self.brp_server.url
        if self.brp_server is not None:  # identity and signal's re-check judge moves by it
            env.setdefault("SLUIS_REGION_MUNICIPALITIES", REGION_MUNICIPALITIES.get(self.region, ""))
        if service == "notify":
            env["SLUIS_SMTP_HOST"] = self.smtp_host
            env["SLUIS_SMTP_PORT"] = str(self.ports["smtp"])
            env["SLUIS_PORTAL_URL"] = self.url
        env.update(self.extra_env)
        env.update(self.service_env.get(service, {}))
        return env

    # -- services -------------------------------------------------------------------------
    def migrate(self) -> None:
        for service in SERVICES:
            migrate(self.database_urls[service], migrations_of(service))
        # identity refuses to start on an empty key table: initialise on purpose, with the
        # operator's command (a no-op once keys exist).
        subprocess.run(
            [sys.executable, "-m", "services.identity", "init"],
            cwd=ROOT,
            env=self.env("identity"),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start_service(self, service: str) -> None:
        log = (self.logdir / f"{service}.log").open("ab")
        owner, command = WORKERS.get(service, (service, "serve"))
        self.procs[service] = subprocess.Popen(
            [sys.executable, "-m", f"services.{owner}", command],
            cwd=ROOT,
            env=self.env(owner),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs[service]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (self.logdir / f"{service}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{service} exited with {proc.returncode}:\n{tail}")
            if self._ready(service):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{service} not ready after {timeout} s (see {self.logdir}/{service}.log)")

    def _ready(self, service: str) -> bool:
        if service in WORKERS:
            return True  # no probe: running is ready (wait_ready checks that it did not exit)
        if service == "gateway":
            try:
                return requests.get(f"{self.url}/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        tls = tls_settings(self.env(service))
        address = self.address(service)
        with (
            grpc.secure_channel(address, channel_credentials(tls))
            if tls.enabled
            else grpc.insecure_channel(address)
        ) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=GRPC_SERVICE[service]), timeout=1
                )
            except grpc.RpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(service)
        proc.send_signal(sig)
        proc.wait(30)

    def restart(self, service: str) -> None:
        self.start_service(service)
        self.wait_ready(service)

    def crash(self, service: str) -> None:
        """SIGKILL a service and leave it for the supervisor to restart (as a pod would be)."""
        proc = self.procs[service]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)

    def seed_demo(self) -> dict[str, object]:
        from services.gateway.demo import seed_demo

        return seed_demo(self.database_urls["gateway"], self.region)

    def start(self) -> "Platform":
        self.start_infra()
        return self.start_services()

    def start_services(self) -> "Platform":
        """Everything after PostgreSQL, Redis and SMTP are up (devstack/federation.py starts
        the infrastructure of two regions one after the other, then this at once)."""
        if self.brp:
            self.brp_server = BrpServer(self.ports.get("brp", 0)).start()
        self.migrate()
        for service in (*SERVICES, *WORKERS):
            self.start_service(service)
        for service in (*SERVICES, *WORKERS):
            self.wait_ready(service)
        return self

    def stop(self) -> None:
        for service in reversed((*SERVICES, *WORKERS)):
            proc = self.procs.pop(service, None)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.brp_server:
            self.brp_server.stop()
        if self.smtp:
            self.smtp.stop()
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.stop()

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("*.log")))


def restart_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds before restart number `attempt` (1-based) of a crashed service: doubling, capped
    (Kubernetes' CrashLoopBackOff does the same from 10 s to 5 min)."""
    return float(min(cap, base * 2 ** min(attempt - 1, 30)))


@dataclass
class Supervisor:
    """Restarts crashed services with back-off instead of stopping the platform.

    Call `poll()` regularly; it returns what happened, in Dutch, for the console. A service
    that stayed up for `stable_after` seconds starts again from the shortest delay.
    """

    platform: Platform
    base: float = 1.0
    cap: float = 30.0
    stable_after: float = 60.0
    attempts: dict[str, int] = field(default_factory=dict)
    restarts: int = 0
    _due: dict[str, float] = field(default_factory=dict)
    _started: dict[str, float] = field(default_factory=dict)
    _waiting: set[str] = field(default_factory=set)

    def poll(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        messages: list[str] = []
        for name in SERVICES:
            if name in self._due:
                if now >= self._due[name]:
                    del self._due[name]
                    self.platform.start_service(name)
                    self._started[name] = now
                    self._waiting.add(name)
                    self.restarts += 1
                    messages.append(f"{name} wordt herstart (poging {self.attempts[name]})")
                continue
            proc = self.platform.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is not None:
                self._waiting.discard(name)
                if now - self._started.get(name, now - self.stable_after) >= self.stable_after:
                    self.attempts[name] = 0
                self.attempts[name] = self.attempts.get(name, 0) + 1
                delay = restart_delay(self.attempts[name], self.base, self.cap)
                self._due[name] = now + delay
                messages.append(
                    f"{name} is gestopt (code {proc.returncode}); herstart over {delay:g} s"
                    f" (zie {self.platform.logdir}/{name}.log)"
                )
            elif name in self._waiting and self.platform._ready(name):
                self._waiting.discard(name)
                messages.append(f"{name} draait weer")
        return messages

    def settled(self) -> bool:
        """No restart pending and every restarted service ready again."""
        self.poll()
        return not self._due and not self._waiting


@contextlib.contextmanager
def running(workdir: Path, **kwargs: object) -> Iterator[Platform]:
    platform = Platform(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield platform.start()
    finally:
        platform.stop()
