"""The anomaly report for the region admin (the SluiS-wachter's view): register-then-end
cycles within 24 hours, refused look-ups per professional, bulk loads with a high share of
unjustified endings, professionals far above their organisation's norm, and postponed
informings past due. Counts per professional and organisation from the processing logs of
signal and match: nothing about any person, so opening it writes no line about one."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import processing_log_pb2 as lpb

from services.common.protos import to_timestamp
from services.gateway.usecases import audit, call, gateway, principal

# A bulk load is suspicious when at least this many of its rows were ended as unjustified.
BULK_MIN_ROWS = 10
BULK_UNJUSTIFIED_SHARE = 0.2
# A professional is far above their organisation's norm at this multiple of its median,
# with at least this many registrations.
NORM_FACTOR = 3.0
NORM_MIN_REGISTRATIONS = 10
MAX_DAYS = 366


@dataclass(frozen=True)
class Finding:
    kind: str
    organisation_id: str
    professional_id: str
    count: int
    total: int = 0
    day: str = ""
    norm: float = 0.0


def findings(raw: Sequence[lpb.Anomaly]) -> list[Finding]:
    """The report's rules over the services' counts (pure, tested without a network)."""
    out: list[Finding] = []
    per_org: dict[str, list[int]] = {}
    for a in raw:
        if a.kind == "registrations" and a.professional_id:
            per_org.setdefault(a.organisation_id, []).append(a.count)
    for a in raw:
        if a.kind in ("quick_end", "refused_lookups", "informing_overdue") and a.count > 0:
            out.append(Finding(a.kind, a.organisation_id, a.professional_id, a.count))
        elif a.kind == "bulk_unjustified":
            if a.total >= BULK_MIN_ROWS and a.count / a.total >= BULK_UNJUSTIFIED_SHARE:
                out.append(Finding(a.kind, a.organisation_id, "", a.count, a.total, a.day))
        elif a.kind == "registrations" and a.professional_id:
            counts = per_org[a.organisation_id]
            norm = statistics.median(counts) if len(counts) > 1 else 0.0
            if len(counts) > 1 and a.count >= NORM_MIN_REGISTRATIONS and a.count >= NORM_FACTOR * norm:
                out.append(Finding("above_norm", a.organisation_id, a.professional_id, a.count, norm=norm))
    order = {
        "quick_end": 0,
        "refused_lookups": 1,
        "bulk_unjustified": 2,
        "above_norm": 3,
        "informing_overdue": 4,
    }
    return sorted(out, key=lambda f: (order[f.kind], -f.count, f.organisation_id, f.professional_id))


def report(days: int = 30) -> list[Finding]:
    gw = gateway()
    since = to_timestamp(gw.clock.now() - timedelta(days=days))
    raw = [
        *call(gw.backends.signal.ListAnomalies, spb.ListAnomaliesRequest(since=since)).anomalies,
        *call(gw.backends.match.ListAnomalies, mpb.ListAnomaliesRequest(since=since)).anomalies,
    ]
    audit("anomalies.report", principal().region, f"days={days}")
    return findings(raw)


def names() -> tuple[dict[str, str], dict[str, str]]:
    """Organisation and professional names of the region (the report is about professionals)."""
    store = gateway().store
    orgs = store.organisations(principal().region)
    pros = {str(p.id): p.name for o in orgs for p in store.professionals(o.id)}
    return {str(o.id): o.name for o in orgs}, pros
