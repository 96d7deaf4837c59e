"""The statistics pages of organisation and region admins: the suppressed aggregates of
GET /v1/statistics (usecases/statistics.py), as tables, server-side SVG charts (pygal,
no JavaScript, no CDN), an organisation-pair heat map and a CSV download.

A region admin sees the whole region (or one organisation they choose), an organisation admin
their own organisation. Opening these pages reads no person and writes no log line about one.
"""

import re
from typing import Any

import pygal
from flask import Response, render_template, request
from pygal.style import Style

from services.common.errors import InvalidArgument
from services.gateway import auth
from services.gateway.api.statistics import csv_response, requested_report
from services.gateway.suppression import HIDDEN, SMALL, Cell
from services.gateway.usecases import admin
from services.gateway.usecases import statistics as stats
from services.gateway.web.blueprint import DOMAIN_LABELS, bp, who

END_REASON_LABELS = {
    "goal_reached": "Doel bereikt",
    "other": "Andere reden",
    "expired": "Verlopen",
    "aged_out": "23 jaar geworden",
    "deceased": "Overleden",
}
AGE_LABELS = {"0-11": "0–11 jaar", "12-17": "12–17 jaar", "18-22": "18–22 jaar", "23+": "23 jaar en ouder"}
# High-contrast series colours (WCAG AA against white), the portal's own palette.
CHART_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    colors=("#00446b", "#b35900", "#2e7d32"),
    font_family="sans-serif",
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
# The SVG is served as an image: it may style itself, and nothing else.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _query() -> tuple[str | None, str | None, str | None]:
    org = request.args.get("organisatie") or None
    if org is not None and who().role != auth.REGION_ADMIN:
        org = None  # an organisation admin always sees their own organisation
    return request.args.get("van") or None, request.args.get("tot") or None, org


def _report() -> stats.Report:
    first, last, org = _query()
    try:
        return requested_report(first, last, org)
    except InvalidArgument as err:
        # The form's names are van/tot: name the field the person filled in.
        field = {"from": "van", "to": "tot"}.get(err.metadata.get("field", ""), "van")
        raise InvalidArgument(err.reason, err.detail, field=field) from None


def _plotted(cells: list[Cell]) -> list[int | None]:
    """Hidden counts are not drawn (a gap): the table beside the chart says "<10"."""
    return [c if isinstance(c, int) else None for c in cells]


def _chart(title: str, months: list[str], series: dict[str, list[Cell]]) -> str:
    chart = pygal.Bar(
        style=CHART_STYLE,
        width=720,
        height=320,
        title=title,
        x_label_rotation=30,
        legend_at_bottom=True,
        print_values=False,
        js=[],  # no tooltips script from a CDN: a static picture
        show_y_guides=True,
        no_data_text="Geen gegevens",
    )
    chart.x_labels = months
    for name, cells in series.items():
        chart.add(name, _plotted(cells))
    # pygal always embeds its config as a script; a picture needs none (and the CSP forbids it).
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def _svg(svg: str) -> Response:
    return Response(svg, mimetype="image/svg+xml", headers={"Content-Security-Policy": SVG_POLICY})


def heat_map(report: stats.Report) -> tuple[list[tuple[str, str]], dict[tuple[str, str], Cell], int]:
    """(organisations in name order, count per pair both ways, the highest shown count)."""
    names: dict[str, str] = {}
    cells: dict[tuple[str, str], Cell] = {}
    for p in report.pairs:
        names[p.a_id], names[p.b_id] = p.a_name, p.b_name
        cells[(p.a_id, p.b_id)] = cells[(p.b_id, p.a_id)] = p.count
    orgs = sorted(names.items(), key=lambda item: item[1].lower())
    peak = max([10, *(c for c in cells.values() if isinstance(c, int))])
    return orgs, cells, peak


def shade(cell: Cell | None, peak: int) -> str:
    """A background class from light to dark (5 steps); suppressed counts get the lightest."""
    if cell is None or cell == 0:
        return "heat-0"
    if isinstance(cell, str):
        return "heat-1"
    return f"heat-{2 + min(3, (cell * 4) // (peak + 1))}"


@bp.get("/beheer/statistieken")
def statistics() -> tuple[str, int] | str:
    first, last, org = _query()
    context: dict[str, Any] = {
        "region": who().role == auth.REGION_ADMIN,
        "organisations": _organisations(),
        "chosen": org or "",
        "small": SMALL,
        "hidden": HIDDEN,
        "reasons": END_REASON_LABELS,
        "domains": DOMAIN_LABELS,
        "ages": AGE_LABELS,
        "shade": shade,
        "query": request.query_string.decode("ascii", "replace"),
    }
    try:
        report = _report()
    except InvalidArgument as err:
        return (
            render_template(
                "admin_statistics.html",
                report=None,
                error=err.detail,
                field=err.metadata.get("field", "van"),
                first=first or "",
                last=last or "",
                **context,
            ),
            400,
        )
    orgs, pairs, peak = heat_map(report)
    return render_template(
        "admin_statistics.html",
        report=report,
        error=None,
        first=report.first,
        last=report.last,
        pair_orgs=orgs,
        pairs=pairs,
        peak=peak,
        **context,
    )


def _organisations() -> list[tuple[str, str]]:
    if who().role != auth.REGION_ADMIN:
        return []
    return [(str(o.id), o.name) for o in admin.organisations()]


@bp.get("/beheer/statistieken/signalen.svg")
def statistics_signals_chart() -> Response:
    report = _report()
    return _svg(
        _chart(
            "Signalen per maand",
            report.months,
            {
                "Geregistreerd": report.signals["registered"],
                "Beëindigd": report.signals["ended"],
                "Actief aan het eind van de maand": report.signals["active"],
            },
        )
    )


@bp.get("/beheer/statistieken/matches.svg")
def statistics_matches_chart() -> Response:
    report = _report()
    return _svg(
        _chart(
            "Matches per maand",
            report.months,
            {"Gestart": report.matches["started"], "Gesloten": report.matches["closed"]},
        )
    )


@bp.get("/beheer/statistieken.csv")
def statistics_csv() -> Response:
    return csv_response(_report())
