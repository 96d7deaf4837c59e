"""Statistics of matches (issue 16): counts only, straight from SQL.

Nothing here returns a person, and nothing is written to the access log: counting matches is
not a read of anyone's involvement. Small counts are suppressed by the gateway
(services/gateway/suppression.py), which sees every table shown together.

A match "belongs" to an organisation when one of its professionals was ever a member of it;
two organisations "meet" in a match when both were ever members.
"""

from typing import Any

from psycopg_pool import AsyncConnectionPool
from sluis.match.v1 import match_pb2 as pb

from services.common import aggregates
from services.common.aggregates import Period, to_counts

# Fragments (constants) filled into the queries below; months in Europe/Amsterdam.
_FRAGMENTS = {
    "started_month": "to_char(m.created_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM')",
    "closed_month": "to_char(m.closed_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM')",
    "in_scope": "(%(org)s::text IS NULL OR EXISTS (SELECT 1 FROM match_members o"
    " WHERE o.match_id = m.match_id AND o.organisation_id = %(org)s))",
    "started": "m.created_at >= %(start)s AND m.created_at < %(end)s",
}

_QUERIES = {
    "started": "SELECT {started_month}, '', count(*) FROM matches m WHERE {started} AND {in_scope} GROUP BY 1",
    "closed": "SELECT {closed_month}, '', count(*) FROM matches m"
    " WHERE m.closed_at >= %(start)s AND m.closed_at < %(end)s AND {in_scope} GROUP BY 1",
    "by_organisation": "SELECT '', mm.organisation_id, count(DISTINCT m.match_id)"
    " FROM matches m JOIN match_members mm ON mm.match_id = m.match_id"
    " WHERE {started} AND {in_scope} GROUP BY 2",
    "by_domain": "SELECT '', d, count(DISTINCT m.match_id)"
    " FROM matches m JOIN match_members mm ON mm.match_id = m.match_id, unnest(mm.domains) AS d"
    " WHERE {started} AND {in_scope} GROUP BY 2",
    # The pair as "a b" (a < b); organisation ids hold no spaces (they are uuids).
    "pairs": "SELECT '', a.organisation_id || ' ' || b.organisation_id, count(DISTINCT m.match_id)"
    " FROM matches m JOIN match_members a ON a.match_id = m.match_id"
    " JOIN match_members b ON b.match_id = m.match_id AND a.organisation_id < b.organisation_id"
    " WHERE {started} AND {in_scope} GROUP BY 2",
}


async def match_statistics(
    pool: AsyncConnectionPool, organisation_id: str | None, period: Period
) -> pb.GetMatchStatisticsResponse:
    """Every count of GetMatchStatistics, in one read-only snapshot."""
    params: dict[str, Any] = {"org": organisation_id or None, "start": period.start, "end": period.end}
    results = await aggregates.read_counts(pool, _QUERIES, _FRAGMENTS, params)
    pairs = []
    for _, key, count in sorted(results["pairs"]):
        a, _, b = key.partition(" ")
        # An organisation admin sees only the pairs their own organisation is part of.
        if not organisation_id or organisation_id in (a, b):
            pairs.append(pb.OrganisationPairCount(organisation_a=a, organisation_b=b, count=count))
    return pb.GetMatchStatisticsResponse(
        started=to_counts(results["started"]),
        closed=to_counts(results["closed"]),
        by_organisation=to_counts(results["by_organisation"]),
        by_domain=to_counts(results["by_domain"]),
        organisation_pairs=pairs,
    )
