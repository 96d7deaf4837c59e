"""`python -m services.gateway [serve|bulk-worker|migrate|seed-demo]`."""

import json
import sys
from collections.abc import Sequence

from services.common.config import ConfigError, from_env
from services.common.db import migrate
from services.common.logs import setup_logging
from services.gateway.bulk import run_worker
from services.gateway.demo import seed_demo
from services.gateway.server import MIGRATIONS, serve
from services.gateway.settings import GatewaySettings

USAGE = "usage: python -m services.gateway [serve|bulk-worker|migrate|seed-demo]"


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "serve"
    if command not in ("serve", "bulk-worker", "migrate", "seed-demo"):
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)
    try:
        settings = from_env(GatewaySettings)
        if command in ("serve", "bulk-worker"):
            settings.check_backends()
    except ConfigError as exc:
        print(f"sluis-gateway: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_logging("gateway", settings.log_level)
    if command == "migrate":
        migrate(settings.database_url, MIGRATIONS)
    elif command == "bulk-worker":
        run_worker(settings)
    elif command == "seed-demo":
        print(json.dumps(seed_demo(settings.database_url, settings.region), indent=2, ensure_ascii=False))
    else:
        serve(settings)


main()
