"""The portal's one Blueprint (endpoints `web.*`, listed in auth.MATRIX) and what every page
shares: the caller, template globals, the shown-once secrets."""

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, redirect, session, url_for
from werkzeug.wrappers import Response as Page

from services.common.protos import from_timestamp
from services.gateway import auth
from services.gateway.usecases import gateway

# The work domains (sluis.types.v1.WorkDomain codes) as the portal names them.
DOMAIN_LABELS = {
    "care": "Zorg",
    "youth": "Jeugd",
    "education": "Onderwijs",
    "work_income": "Werk en inkomen",
    "housing": "Wonen",
    "safety": "Veiligheid",
    "debt": "Schulden",
}

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/statisch"
)

PAGE_SIZE = 100
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")


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


def iso_day(value: str | None) -> str:
    """An ISO date (a birth date) as the portal writes dates: 01-04-2010."""
    try:
        return date.fromisoformat(value or "").strftime("%d-%m-%Y")
    except ValueError:
        return value or ""


def iso_moment(value: str | None) -> str:
    """An ISO timestamp of the API (createdAt) in Dutch time: 29-11-2026 14:05."""
    try:
        moment = datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return ""
    return moment.astimezone(_AMSTERDAM).strftime("%d-%m-%Y %H:%M")


bp.add_app_template_filter(iso_day, "iso_day")
bp.add_app_template_filter(iso_moment, "iso_moment")


def redirect_with_secret(endpoint: str, shown_once: dict[str, str]) -> Page:
    """Shown once on the next page, then gone from the session."""
    session["once"] = shown_once
    return redirect(url_for(endpoint))
