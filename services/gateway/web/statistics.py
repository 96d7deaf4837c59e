"""The statistics page of an organisation admin: aggregates only, no person data."""

from flask import render_template

from services.gateway.usecases import admin
from services.gateway.web.blueprint import bp


@bp.get("/beheer/statistieken")
def statistics() -> str:
    """Signals registered and matches started per month, for the own organisation only."""
    org = admin.own_organisation()
    rows = admin.statistics(org)
    peak = max([1, *(max(s, n) for _, s, n in rows)])
    return render_template("admin_statistics.html", org=org, rows=rows, peak=peak)
