from services.common.main import main
from services.identity.server import MIGRATIONS, IdentitySettings, create_service

main("identity", IdentitySettings, create_service, MIGRATIONS)
