from services.common.main import main
from services.notify.server import MIGRATIONS, NotifySettings, create_service

main("notify", NotifySettings, create_service, MIGRATIONS)
