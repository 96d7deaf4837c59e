"""`python -m services.gateway [serve|bulk-worker|migrate|seed-demo|create-region-admin]`."""

import argparse
import json
import sys
from collections.abc import Sequence

from services.common.clock import SystemClock
from services.common.config import ConfigError, from_env, require_in_production
from services.common.db import migrate
from services.common.errors import DomainError
from services.common.logs import setup_logging
from services.gateway.bulk import run_worker
from services.gateway.demo import seed_demo
from services.gateway.server import MIGRATIONS, serve
from services.gateway.settings import GatewaySettings

COMMANDS = ("serve", "bulk-worker", "migrate", "seed-demo", "create-region-admin")
USAGE = "usage: python -m services.gateway [" + "|".join(COMMANDS) + "]"


def create_region_admin(settings: GatewaySettings, argv: Sequence[str]) -> int:
    """The operator appoints the region's first admin: a one-time invitation link, printed
    and (when SLUIS_NOTIFY_ADDR is set) mailed through notify."""
    from services.gateway.backends import Backends
    from services.gateway.store import GatewayStore, open_pool
    from services.gateway.usecases.accounts import create_region_admin as create

    parser = argparse.ArgumentParser(prog="python -m services.gateway create-region-admin")
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    store = GatewayStore(open_pool(settings.database_url, max_size=2))
    backends = Backends.from_settings(settings) if settings.notify_addr else None
    try:
        admin, issued = create(
            store,
            settings,
            backends.notify if backends is not None else None,
            SystemClock().now(),
            email=args.email,
            name=args.name,
        )
    except DomainError as err:
        print(f"sluis-gateway: {err.detail}", file=sys.stderr)
        return 1
    finally:
        if backends is not None:
            backends.close()
        store.pool.close()
    until = issued.invitation.expires_at.isoformat(timespec="minutes")
    print(f"Regiobeheerder {admin.name} <{admin.email}> aangemaakt.")
    print(f"Eenmalige uitnodigingslink (geldig tot {until}):")
    print(issued.link)
    print("De link is ook gemaild." if issued.mailed else "Niet gemaild (SLUIS_NOTIFY_ADDR is niet gezet).")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "serve"
    if command not in COMMANDS:
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)
    try:
        settings = from_env(GatewaySettings)
        if command in ("serve", "bulk-worker"):
            settings.check_backends()
            require_in_production(
                settings.environment, {"SLUIS_PROCESSING_LOG_KEY": settings.processing_log_key}
            )
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
    elif command == "create-region-admin":
        raise SystemExit(create_region_admin(settings, args[1:]))
    else:
        from services.common import metrics

        metrics.serve_admin_from_env()
        serve(settings)


main()
