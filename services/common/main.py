"""The command line of every back-end service: `python -m services.<name> [serve|migrate]`."""

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from services.common import processing_log
from services.common.config import ConfigError, ServiceSettings, from_env, require_in_production
from services.common.db import migrate
from services.common.grpcserver import GrpcService
from services.common.logs import setup_logging

S = TypeVar("S", bound=ServiceSettings)


def main(
    name: str,
    settings_cls: type[S],
    create_service: Callable[[S], Awaitable[GrpcService]],
    migrations: Sequence[Path],
    argv: Sequence[str] | None = None,
) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "serve"
    try:
        settings = from_env(settings_cls)
        if command == "serve":
            # A service that keeps a processing log needs its key in production.
            keeps_log = processing_log.MIGRATIONS in migrations
            require_in_production(
                settings.environment,
                {"SLUIS_PROCESSING_LOG_KEY": settings.processing_log_key} if keeps_log else {},
            )
    except ConfigError as exc:
        print(f"sluis-{name}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if command == "migrate":
        setup_logging(name, settings.log_level)
        migrate(settings.database_url, migrations)
        return
    if command != "serve":
        print(f"usage: python -m services.{name} [serve|migrate]", file=sys.stderr)
        raise SystemExit(2)

    async def serve() -> None:
        service = await create_service(settings)
        await service.run()

    try:
        asyncio.run(serve())
    except ConfigError as exc:
        # Found at start (e.g. identity on an empty key table): one clear line, exit 2.
        print(f"sluis-{name}: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
