"""The register of processing activities (services/common/processing_activities.yaml):
loaded once, served by the gateway at GET /v1/processing-activities, and the source of the
processing log's retention rules (docs/retention.md)."""

import functools
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from services.common.retention import Rule

REGISTER_PATH = Path(__file__).with_name("processing_activities.yaml")
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)D)?$")


def parse_duration(text: str) -> timedelta:
    """P5Y, P30D or P1Y30D (a year counted as 365 days: retention, not a calendar)."""
    m = _DURATION.match(text)
    if m is None or not any(m.groups()):
        raise ValueError(f"retention {text!r}: expected e.g. P5Y or P30D")
    years, days = (int(g or 0) for g in m.groups())
    return timedelta(days=365 * years + days)


@dataclass(frozen=True)
class Activity:
    id: str
    name: str
    purpose: str
    legal_basis: str
    retention: str
    show_professional: bool
    grpc: tuple[str, ...]
    endpoints: tuple[str, ...]

    @property
    def keep(self) -> timedelta:
        return parse_duration(self.retention)


@dataclass(frozen=True)
class Register:
    controller: str
    activities: dict[str, Activity]
    no_personal_grpc: dict[str, str]
    no_personal_endpoints: dict[str, str]

    def covered_grpc(self) -> set[str]:
        return {m for a in self.activities.values() for m in a.grpc} | set(self.no_personal_grpc)

    def covered_endpoints(self) -> set[str]:
        return {e for a in self.activities.values() for e in a.endpoints} | set(self.no_personal_endpoints)

    def shows_professional(self, activity_id: str) -> bool:
        activity = self.activities.get(activity_id)
        return activity is not None and activity.show_professional


def _activity(raw: dict[str, Any]) -> Activity:
    if not re.fullmatch(r"[a-z][a-z-]*", raw["id"]):
        raise ValueError(f"activity id {raw['id']!r}: lower case and hyphens only")
    parse_duration(raw["retention"])
    return Activity(
        id=raw["id"],
        name=raw["name"],
        purpose=raw["purpose"],
        legal_basis=raw["legal_basis"],
        retention=raw["retention"],
        show_professional=bool(raw.get("show_professional", False)),
        grpc=tuple(raw.get("grpc") or ()),
        endpoints=tuple(raw.get("endpoints") or ()),
    )


@functools.cache
def register() -> Register:
    raw = yaml.safe_load(REGISTER_PATH.read_text(encoding="utf-8"))
    none = raw.get("no_personal_data") or {}
    return Register(
        controller=raw["controller"],
        activities={a.id: a for a in (_activity(x) for x in raw["activities"])},
        no_personal_grpc=dict(none.get("grpc") or {}),
        no_personal_endpoints=dict(none.get("endpoints") or {}),
    )


def retention_rules() -> list[Rule]:
    """One purge rule per activity (its retention), and the audit rows kept as long as the
    longest: log lines are removed by the purge job only, never altered."""
    reg = register()
    rules = [
        # The id is checked above (lower case and hyphens): safe as a literal in the condition.
        Rule("processing_log", f"processing_activity_id = '{a.id}' AND start_time < %(cutoff)s", a.keep)
        for a in reg.activities.values()
    ]
    longest = max(a.keep for a in reg.activities.values())
    rules.append(Rule("processing_audit", "at < %(cutoff)s", longest))
    return rules
