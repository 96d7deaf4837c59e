"""Statistics of signals (issue 16): counts only, straight from SQL.

Nothing here returns or logs a person: every query groups and counts. Small counts are NOT
suppressed here; the gateway suppresses them (services/gateway/suppression.py), because only
it sees every table that is shown together.

Archived signals are purged after their retention period and signals deleted at once
(unjustified, upheld objection) leave no row, so months long past count what is still kept.
"""

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sluis.signal.v1 import signal_pb2 as pb

from services.common import aggregates
from services.common.aggregates import CountRow, Period, to_counts

# Fragments (constants) filled into the queries below; months in Europe/Amsterdam, like
# aggregates.period's boundaries.
_FRAGMENTS = {
    "registered_month": "to_char(registered_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM')",
    "ended_month": "to_char(ended_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM')",
    "in_scope": "(%(org)s::text IS NULL OR organisation_id = %(org)s)",
    "registered": "registered_at >= %(start)s AND registered_at < %(end)s"
    " AND (%(org)s::text IS NULL OR organisation_id = %(org)s)",
}

_QUERIES = {
    "registered": "SELECT {registered_month}, '', count(*) FROM signals WHERE {registered} GROUP BY 1",
    "ended": "SELECT {ended_month}, end_reason, count(*) FROM signals"
    " WHERE ended_at >= %(start)s AND ended_at < %(end)s AND {in_scope} GROUP BY 1, 2",
    "active": "SELECT e.month, '', count(s.signal_id)"
    " FROM unnest(%(months)s::text[], %(ends)s::timestamptz[]) AS e(month, end_at)"
    " LEFT JOIN signals s ON s.registered_at < e.end_at"
    " AND (s.ended_at IS NULL OR s.ended_at >= e.end_at)"
    " AND (%(org)s::text IS NULL OR s.organisation_id = %(org)s) GROUP BY 1",
    "by_organisation": "SELECT '', organisation_id, count(*) FROM signals WHERE {registered} GROUP BY 2",
    "by_domain": "SELECT '', d, count(*) FROM signals, unnest(domains) AS d WHERE {registered} GROUP BY 2",
    # The age at registration, in whole years; banded below (aggregates.age_band).
    "by_age": "SELECT '', date_part('year', age((registered_at AT TIME ZONE 'Europe/Amsterdam')::date,"
    " birth_date))::int::text, count(*) FROM signals WHERE {registered} GROUP BY 2",
    "by_municipality": "SELECT '', coalesce(municipality_code, ''), count(*) FROM signals"
    " WHERE {registered} GROUP BY 2",
}


def _bands(rows: list[CountRow]) -> list[pb.StatisticsCount]:
    per_band: Counter[str] = Counter()
    for _, age, count in rows:
        per_band[aggregates.age_band(int(age))] += count
    return [pb.StatisticsCount(key=label, count=per_band[label]) for label, *_ in aggregates.AGE_BANDS]


async def signal_statistics(
    pool: AsyncConnectionPool, organisation_id: str | None, period: Period, now: datetime
) -> pb.GetSignalStatisticsResponse:
    """Every count of GetSignalStatistics, in one read-only transaction (one snapshot)."""
    # A month that has not ended yet counts the signals active now (just after `now`, so a
    # signal registered or ended at this very moment counts as such).
    ends = [min(end, now + timedelta(microseconds=1)) for end in period.month_ends()]
    params: dict[str, Any] = {
        "org": organisation_id or None,
        "start": period.start,
        "end": period.end,
        "months": list(period.months),
        "ends": ends,
    }
    results = await aggregates.read_counts(pool, _QUERIES, _FRAGMENTS, params)
    return pb.GetSignalStatisticsResponse(
        registered=to_counts(results["registered"]),
        ended=to_counts(results["ended"]),
        active=[pb.StatisticsCount(month=m, count=c) for m, _, c in sorted(results["active"])],
        by_organisation=to_counts(results["by_organisation"]),
        by_domain=to_counts(results["by_domain"]),
        by_age_band=_bands(results["by_age"]),
        by_municipality=to_counts(results["by_municipality"]),
    )
