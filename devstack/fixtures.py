"""pytest plugin (loaded for every test via pyproject): real PostgreSQL, Redis and SMTP.

- `postgres`: one embedded cluster per test run, shared by the xdist workers.
- `new_database(prefix, migrations)`: a fresh, migrated database; dropped afterwards.
- `redis_server`: a redis-server per worker.
- `mailbox` / `smtp_server`: a real SMTP server on a free port keeping mails in tmp_path.
- `run_service(factory)`: starts a back-end service's real aio gRPC server in a thread and
  returns its address; tests talk to it over a real channel.
- `platform`: the whole platform as processes with demo data, once per test module; a module
  that needs other settings overrides the `platform_env` fixture; one that needs other
  Platform arguments sets a module-level PLATFORM_OPTIONS, e.g. {"brp": True} for the local BRP.
"""

import asyncio
import contextlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import fasteners
import pytest

from devstack.mailbox import Mailbox, SmtpServer
from devstack.platform import Platform
from devstack.postgres import EmbeddedPostgres
from devstack.redis import EmbeddedRedis, free_port
from services.common import astguard
from services.common.db import migrate

# Every test process: apps are built while other threads log exceptions (astguard.py).
astguard.install()

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    CACHE.mkdir(exist_ok=True)
    # Workers start together; one of them initialises and tunes the cluster.
    with fasteners.InterProcessLock(str(CACHE / "pg-test.lock")):
        pg = EmbeddedPostgres(CACHE / "pg-test", throwaway=True).start()
    yield pg
    # Stops the server only when this is the last worker using it (pgserver counts users).
    pg.stop()


@pytest.fixture
def new_database(postgres: EmbeddedPostgres) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(prefix: str = "t", migrations: Sequence[Path] = ()) -> str:
        name = f"t_{prefix}_{uuid.uuid4().hex[:10]}"
        url = postgres.create_database(name)
        created.append(name)
        if migrations:
            migrate(url, migrations)
        return url

    yield make
    for name in created:
        postgres.drop_database(name)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(tmp_path: Path) -> Mailbox:
    return Mailbox(tmp_path / "mail")


@pytest.fixture
def smtp_server(mailbox: Mailbox) -> Iterator[SmtpServer]:
    server = SmtpServer(mailbox, free_port()).start()
    yield server
    server.stop()


class ServiceThread:
    """Runs an asyncio service (anything with async start() -> port and stop()) in a thread."""

    def __init__(self, factory: Callable[[], Awaitable[Any]]) -> None:
        self.factory = factory
        self.service: Any = None
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                self.service = await self.factory()
                self.port = await self.service.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self._stop.wait()
            await self.service.stop()

        asyncio.run(main())

    def start(self) -> "ServiceThread":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("service did not start within 30 s")
        if self._error is not None:
            raise self._error
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def call(self, coro: Awaitable[Any], timeout: float = 30) -> Any:
        """Run a coroutine on the service's loop (e.g. a lifecycle job) and wait for it."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop the service; a second call (a test stopped it early) does nothing."""
        if self.loop is not None and self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def run_service() -> Iterator[Callable[[Callable[[], Awaitable[Any]]], ServiceThread]]:
    started: list[ServiceThread] = []

    def start(factory: Callable[[], Awaitable[Any]]) -> ServiceThread:
        svc = ServiceThread(factory).start()
        started.append(svc)
        return svc

    yield start
    for svc in reversed(started):
        svc.stop()


@pytest.fixture(scope="module")
def platform_env() -> dict[str, str]:
    """Extra environment for the module's platform (a test module overrides this fixture)."""
    return {}


@contextlib.contextmanager
def running_with_demo(extra_env: dict[str, str] | None = None, **options: Any) -> Iterator[Platform]:
    """The real platform with demo data (`p.demo`), in a private temporary directory: other
    pytest runs on this machine rotate /tmp/pytest-of-<user> under our feet. `options` are
    further Platform arguments (e.g. brp=True)."""
    workdir = Path(tempfile.mkdtemp(prefix="sluis-platform-"))
    p = Platform(workdir, extra_env=dict(extra_env or {}), **options)
    try:
        p.start()
        p.demo = p.seed_demo()  # type: ignore[attr-defined]
        yield p
    finally:
        p.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, platform_env: dict[str, str]) -> Iterator[Platform]:
    """The real platform with demo data, for one test module (its PLATFORM_OPTIONS honoured)."""
    with running_with_demo(platform_env, **getattr(request.module, "PLATFORM_OPTIONS", {})) as p:
        yield p
