from services.common.main import main
from services.match.server import MIGRATIONS, MatchSettings, create_service

main("match", MatchSettings, create_service, MIGRATIONS)
