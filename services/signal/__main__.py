from services.common.main import main
from services.signal.server import MIGRATIONS, SignalSettings, create_service

main("signal", SignalSettings, create_service, MIGRATIONS)
