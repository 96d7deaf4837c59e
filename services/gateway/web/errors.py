"""The portal's rendering of the gateway's one error decision (errors.decide): a Dutch page,
never a BSN. Only what is portal-specific is decided here: the login redirect and CSRF."""

from flask import Response, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from services.gateway import domain
from services.gateway.errors import INTERNAL, decide
from services.gateway.web.sessions import LoginRequired

_TITLES = {
    400: "Verzoek geweigerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Niet toegestaan",
    413: "Te groot",
}
# The portal speaks of pages, the API of URLs.
_PAGE_TEXT = {
    "not_found": "Deze pagina bestaat niet.",
    "method_not_allowed": "Deze handeling is hier niet toegestaan.",
}
CSRF_REFUSED = (
    "Dit formulier is verlopen of ongeldig. Ga terug, laad de pagina opnieuw en probeer het nog eens."
)


def wants_html() -> bool:
    """Portal requests (and unknown URLs asked for by a browser) get HTML error pages."""
    endpoint = request.endpoint or ""
    if endpoint.startswith("web."):
        return True
    return (
        endpoint == ""
        and not request.path.startswith("/v1")
        and "text/html" in request.headers.get("Accept", "")
    )


def render_error(exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        # A page asked for (the mail's deep link) is where the login ends (issue 17).
        target = request.full_path.rstrip("?") if request.method == "GET" else ""
        next_path = domain.safe_next(target)
        return Response(status=303, headers={"Location": url_for("web.login", next=next_path)})
    if isinstance(exc, CSRFError):
        status, detail = 400, CSRF_REFUSED
    else:
        decision = decide(exc, request.endpoint)
        status = decision.status
        detail = _PAGE_TEXT.get(decision.reason, decision.detail)
        if status >= 500:
            detail = INTERNAL
    title = _TITLES.get(status, "Er ging iets mis")
    return Response(
        render_template("error.html", title=title, detail=detail), status=status, mimetype="text/html"
    )
