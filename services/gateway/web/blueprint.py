"""The portal's one Blueprint (endpoints `web.*`, listed in auth.MATRIX) and what every page
shares: the caller, template globals, the shown-once secrets."""

from datetime import UTC
from typing import Any

from flask import Blueprint, g, redirect, session, url_for
from werkzeug.wrappers import Response as Page

from services.common.protos import from_timestamp
from services.gateway import auth
from services.gateway.usecases import gateway

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/statisch"
)

PAGE_SIZE = 100


def who() -> auth.Principal:
    principal: auth.Principal = g.principal
    return principal


def display_name() -> str:
    p: auth.Principal | None = g.get("principal")
    if p is None:
        return ""
    store = gateway().store
    if p.professional_id:
        pro = store.professional(p.professional_id)
        return pro.name if pro else ""
    admin = store.admin(p.admin_id) if p.admin_id else None
    return admin.name if admin else ""


@bp.app_context_processor
def template_globals() -> dict[str, Any]:
    # csrf_token() comes from Flask-WTF (CSRFProtect registers it).
    return {
        "principal": g.get("principal"),
        "display_name": display_name,
        "roles": auth,
        "pop_once": lambda: session.pop("once", None),
    }


def day(ts: Any) -> str:
    moment = from_timestamp(ts)
    return "" if moment is None else moment.astimezone(UTC).strftime("%d-%m-%Y")


bp.add_app_template_filter(day, "day")


def redirect_with_secret(endpoint: str, shown_once: dict[str, str]) -> Page:
    """Shown once on the next page, then gone from the session."""
    session["once"] = shown_once
    return redirect(url_for(endpoint))
