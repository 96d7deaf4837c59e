import sys

from services.common.main import main
from services.identity import cli
from services.identity.server import MIGRATIONS, IdentitySettings, create_service

if sys.argv[1:2] and sys.argv[1] in cli.COMMANDS:
    # Operator commands talk to the running service; serve/migrate are the common ones.
    raise SystemExit(cli.run(sys.argv[1:]))
main("identity", IdentitySettings, create_service, MIGRATIONS)
