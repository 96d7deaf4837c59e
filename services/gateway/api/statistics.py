"""GET /v1/statistics: the suppressed counts as JSON, or as CSV (`format=csv` or
`Accept: text/csv`). Who sees what is decided in usecases/statistics.py."""

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request

from services.gateway import domain
from services.gateway.api import no_query, ok
from services.gateway.suppression import HIDDEN, SMALL, Cell
from services.gateway.usecases import admin
from services.gateway.usecases import statistics as stats

bp = Blueprint("statistics", __name__)

CSV_COLUMNS = ("table", "month", "key", "label", "count")
TOTAL = "total"


def _camel(code: str) -> str:
    head, *rest = code.split("_")
    return head + "".join(part.title() for part in rest)


def _breakdowns(items: list[stats.Breakdown]) -> list[dict[str, Any]]:
    return [{"key": b.key, "label": b.label, "count": b.count} for b in items]


def report_json(report: stats.Report) -> dict[str, Any]:
    scope: dict[str, Any] = {"kind": "organisation" if report.organisation_id else "region"}
    if report.organisation_id:
        scope["organisationId"] = report.organisation_id
    signal_months = [
        {
            "month": m,
            "registered": report.signals["registered"][i],
            "ended": report.signals["ended"][i],
            "active": report.signals["active"][i],
            "endedByReason": {_camel(r): c for r, c in report.ended_by_reason[i].items()},
        }
        for i, m in enumerate(report.months)
    ]
    return {
        "from": report.first,
        "to": report.last,
        "scope": scope,
        "suppression": {"small": SMALL, "hidden": HIDDEN},
        "signals": {
            "months": signal_months,
            "total": {
                "registered": report.signal_totals["registered"],
                "ended": report.signal_totals["ended"],
                "endedByReason": {_camel(r): c for r, c in report.ended_totals.items()},
            },
            **{name: _breakdowns(items) for name, items in report.signal_breakdowns.items()},
        },
        "matches": {
            "months": [
                {"month": m, "started": report.matches["started"][i], "closed": report.matches["closed"][i]}
                for i, m in enumerate(report.months)
            ],
            "total": dict(report.match_totals),
            **{name: _breakdowns(items) for name, items in report.match_breakdowns.items()},
            "organisationPairs": [
                {
                    "organisationA": {"id": p.a_id, "name": p.a_name},
                    "organisationB": {"id": p.b_id, "name": p.b_name},
                    "count": p.count,
                }
                for p in report.pairs
            ],
        },
    }


def csv_rows(report: stats.Report) -> Iterator[tuple[str, str, str, str, Cell]]:
    """The report in long form: one count per line; totals have month or key `total`."""
    for group, per_month, totals in (
        ("signals", report.signals, report.signal_totals),
        ("matches", report.matches, report.match_totals),
    ):
        for name, cells in per_month.items():
            for month, cell in zip(report.months, cells, strict=True):
                yield f"{group}.{name}", month, "", "", cell
            if name in totals:
                yield f"{group}.{name}", TOTAL, "", "", totals[name]
    for month, reasons in zip(report.months, report.ended_by_reason, strict=True):
        for reason, cell in reasons.items():
            yield "signals.endedByReason", month, reason, "", cell
    for reason, cell in report.ended_totals.items():
        yield "signals.endedByReason", TOTAL, reason, "", cell
    for group, breakdowns in (("signals", report.signal_breakdowns), ("matches", report.match_breakdowns)):
        for name, items in breakdowns.items():
            for b in items:
                yield f"{group}.{name}", "", b.key, b.label, b.count
    for p in report.pairs:
        yield "matches.organisationPairs", "", f"{p.a_id} {p.b_id}", f"{p.a_name} + {p.b_name}", p.count


def _safe(text: str) -> str:
    """No spreadsheet formula from a name (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: stats.Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for table, month, key, label, count in csv_rows(report):
        writer.writerow((table, month, key, _safe(label), count))
    return out.getvalue()


def csv_response(report: stats.Report) -> Response:
    filename = f"sluis-statistieken-{report.first}-{report.last}.csv"
    return Response(
        report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def wants_csv() -> bool:
    """`format=csv` or `format=json` decides; without it the Accept header does."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in ("csv", "json"):
            raise domain.invalid("format", "Kies format=json of format=csv.")
        return fmt == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"], default="application/json")
    return best == "text/csv"


def requested_report(first: str | None, last: str | None, organisation_id: str | None) -> stats.Report:
    """The report for the query (defaults: the last 12 months; the caller's own scope)."""
    default_first, default_last = stats.default_period()
    scope = stats.scope_of_caller()
    if organisation_id is not None:
        # A region admin may narrow to one organisation; an organisation admin only names their
        # own (anything else is "not found", as everywhere).
        scope = str(admin.organisation(organisation_id).id)
    return stats.report(
        default_first if first is None else first, default_last if last is None else last, scope
    )


@bp.get("/statistics")
def get_statistics() -> Response:
    no_query("from", "to", "organisationId", "format")
    csv_wanted = wants_csv()
    report = requested_report(
        request.args.get("from"), request.args.get("to"), request.args.get("organisationId")
    )
    return csv_response(report) if csv_wanted else ok(report_json(report))
