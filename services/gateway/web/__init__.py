"""The web portal: server-rendered pages for professionals and organisation admins (Dutch).

One Blueprint (`blueprint.bp`, endpoints `web.*`, who may open which page is `auth.MATRIX`),
with modules per area: `sessions` (login, CSRF, logout), `signals`, `matches`, `inbox`,
`admin` (professionals, organisation, API keys), `deadletters` (undeliverable
notifications), `rights` (the region's rights-requests
register), `webhooks`, `statistics`, `anomalies` (the region's anomaly report), `accounts` (invitations, Mijn account), `region`
(region admin) and `errors`.
Pages render the same use cases (gateway/usecases) as the REST API.
"""

from services.gateway.web import (
    accounts,
    admin,
    anomalies,
    deadletters,
    inbox,
    matches,
    region,
    rights,
    signals,
    statistics,
    webhooks,
)
from services.gateway.web.blueprint import bp
from services.gateway.web.errors import render_error, wants_html
from services.gateway.web.sessions import csrf, guard

# Importing the area modules registers their routes on `bp`.
ROUTES = (
    accounts,
    admin,
    anomalies,
    deadletters,
    inbox,
    matches,
    region,
    rights,
    signals,
    statistics,
    webhooks,
)

__all__ = ["ROUTES", "bp", "csrf", "guard", "render_error", "wants_html"]
