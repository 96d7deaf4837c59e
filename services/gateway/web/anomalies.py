"""The region admin's anomaly report (the SluiS-wachter's view): counts only."""

from flask import render_template

from services.gateway.usecases import anomalies
from services.gateway.web.blueprint import bp

TITLES = {
    "quick_end": "Signaal binnen 24 uur na registratie weer beëindigd",
    "refused_lookups": "Geweigerde opvragingen",
    "bulk_unjustified": "Bulklevering met veel onterecht beëindigde signalen",
    "above_norm": "Veel meer signalen dan gebruikelijk in de eigen organisatie",
    "informing_overdue": "Uitgesteld informeren over de termijn",
}


@bp.get("/regio/afwijkingen")
def anomalies_page() -> str:
    found = anomalies.report()
    orgs, pros = anomalies.names()
    return render_template("region_anomalies.html", found=found, orgs=orgs, pros=pros, titles=TITLES)
