"""Statistics (issue 16): counts from signal and match, suppressed, for admins only.

A region admin sees the whole region, an organisation admin their own organisation (the
signals it registered, the matches it took part in). The back ends only count; this module
applies small-count suppression (gateway/suppression.py) to every table shown together,
so the API, the CSV export and the portal all show exactly the same, safe numbers.

Nothing here reads or writes anything about a person: no access-log line, no audit line
(reading statistics changes nothing and concerns nobody).
"""

from dataclasses import dataclass, field
from typing import Any

from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb

from services.common import aggregates
from services.gateway import auth
from services.gateway.suppression import Cell, Table, rounded, shown, suppress, suppress_together
from services.gateway.usecases import call, gateway, principal

# End reasons a signal can be archived with (deleted signals leave no trace to count).
END_REASONS: tuple[str, ...] = ("goal_reached", "other", "expired", "aged_out", "deceased")


@dataclass
class Breakdown:
    """One count per category (key: a code or id, label: what people read)."""

    key: str
    label: str
    count: Cell


@dataclass
class Pair:
    """Two organisations (a < b by id) that meet in matches."""

    a_id: str
    a_name: str
    b_id: str
    b_name: str
    count: Cell


@dataclass
class Report:
    """Every suppressed figure of one request; `months` in order."""

    first: str
    last: str
    organisation_id: str | None
    months: list[str]
    # per month: registered, ended, active, ended per reason (signals); started, closed (matches)
    signals: dict[str, list[Cell]] = field(default_factory=dict)
    ended_by_reason: list[dict[str, Cell]] = field(default_factory=list)
    signal_totals: dict[str, Cell] = field(default_factory=dict)
    ended_totals: dict[str, Cell] = field(default_factory=dict)
    signal_breakdowns: dict[str, list[Breakdown]] = field(default_factory=dict)
    matches: dict[str, list[Cell]] = field(default_factory=dict)
    match_totals: dict[str, Cell] = field(default_factory=dict)
    match_breakdowns: dict[str, list[Breakdown]] = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)


def scope_of_caller() -> str | None:
    """None for the whole region (region admin), else the caller's own organisation."""
    who = principal()
    if who.role == auth.REGION_ADMIN:
        return None
    return str(who.organisation_id)


def default_period() -> tuple[str, str]:
    """The last 12 months, this one included."""
    return aggregates.last_months(gateway().today())


def _per_month(counts: Any, months: list[str]) -> list[int]:
    by_month = {c.month: c.count for c in counts}
    return [by_month.get(m, 0) for m in months]


def _column(values: list[int]) -> Table:
    """A column of counts with its total underneath."""
    return Table([[v] for v in values], column_totals=True)


def _cells(table: Table) -> tuple[list[Cell], Cell]:
    """The suppressed column and its total."""
    return [row[0] for row in table.cells[:-1]], table.cells[-1][0]


def _breakdown(table: Table, keys: list[str], labels: dict[str, str]) -> list[Breakdown]:
    cells, _ = _cells(table)
    return [Breakdown(k, labels.get(k, k), c) for k, c in zip(keys, cells, strict=True)]


def report(first: str, last: str, organisation_id: str | None) -> Report:
    """The suppressed statistics for months first..last (InvalidArgument names from/to)."""
    period = aggregates.period(first, last)
    gw = gateway()
    months = list(period.months)
    org = organisation_id or ""
    sig: spb.GetSignalStatisticsResponse = call(
        gw.backends.signal.GetSignalStatistics,
        spb.GetSignalStatisticsRequest(organisation_id=org, from_month=first, to_month=last),
    )
    mat: mpb.GetMatchStatisticsResponse = call(
        gw.backends.match.GetMatchStatistics,
        mpb.GetMatchStatisticsRequest(organisation_id=org, from_month=first, to_month=last),
    )
    names = {str(o.id): o.name for o in gw.store.organisations(principal().region)}
    out = Report(first, last, organisation_id, months)

    # Signals registered: per month, per organisation, age band and municipality share one total.
    registered = _column(_per_month(sig.registered, months))
    groups: dict[str, list[spb.StatisticsCount]] = {
        "byOrganisation": list(sig.by_organisation),
        "byAgeBand": list(sig.by_age_band),
        "byMunicipality": list(sig.by_municipality),
    }
    tables = [registered] + [_column([c.count for c in counts]) for counts in groups.values()]
    registered, *grouped = suppress_together(tables)
    out.signals["registered"], out.signal_totals["registered"] = _cells(registered)
    labels = {"byOrganisation": names, "byMunicipality": {"": "onbekend"}}
    for (name, counts), table in zip(groups.items(), grouped, strict=True):
        out.signal_breakdowns[name] = _breakdown(table, [c.key for c in counts], labels.get(name, {}))
    # A signal has its organisation's domains: these overlap the organisations, so rounded.
    out.signal_breakdowns["byDomain"] = [Breakdown(c.key, c.key, rounded(c.count)) for c in sig.by_domain]

    # Signals ended: months x reasons, with the ended per month and per reason as totals.
    ended = {(c.month, c.key): c.count for c in sig.ended}
    grid = suppress(
        Table(
            [[ended.get((m, r), 0) for r in END_REASONS] for m in months], row_totals=True, column_totals=True
        )
    ).cells
    out.signals["ended"] = [row[-1] for row in grid[:-1]]
    out.ended_by_reason = [dict(zip(END_REASONS, row[:-1], strict=True)) for row in grid[:-1]]
    out.ended_totals = dict(zip(END_REASONS, grid[-1][:-1], strict=True))
    out.signal_totals["ended"] = grid[-1][-1]
    # Active at a month's end = the month before + registered - ended: rounded (rule 4).
    out.signals["active"] = [rounded(v) for v in _per_month(sig.active, months)]

    for name in ("started", "closed"):
        per_month = _per_month(getattr(mat, name), months)
        out.matches[name], out.match_totals[name] = _cells(suppress(_column(per_month)))
    # A match has several organisations and domains: about the sums of the pairs, so rounded.
    out.match_breakdowns["byOrganisation"] = [
        Breakdown(c.key, names.get(c.key, c.key), rounded(c.count)) for c in mat.by_organisation
    ]
    out.match_breakdowns["byDomain"] = [Breakdown(c.key, c.key, rounded(c.count)) for c in mat.by_domain]
    out.pairs = [
        Pair(
            p.organisation_a,
            names.get(p.organisation_a, p.organisation_a),
            p.organisation_b,
            names.get(p.organisation_b, p.organisation_b),
            shown(p.count),
        )
        for p in mat.organisation_pairs
    ]
    return out
