"""Statistics plumbing: calendar months ("YYYY-MM" in Europe/Amsterdam), age bands, and the
read-only snapshot in which the aggregate RPCs of signal and match run their counting SQL.

Shared by signal, match and the gateway that validates the query, so all three agree on what
"2026-03" means (local midnight to local midnight).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sluis.signal.v1 import signal_pb2

from services.common.errors import InvalidArgument

TIMEZONE = ZoneInfo("Europe/Amsterdam")
# A period longer than this is refused: ten years of months is plenty for a council report.
MAX_MONTHS = 120
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# (label, lowest age, highest age or None): the bands of issue 16.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-11", 0, 11),
    ("12-17", 12, 17),
    ("18-22", 18, 22),
    ("23+", 23, None),
)


def parse_month(text: str) -> tuple[int, int] | None:
    """(year, month) of a "YYYY-MM" text, or None when it is not one."""
    m = _MONTH.match(text)
    if m is None or int(m.group(1)) < 1900:
        return None
    return int(m.group(1)), int(m.group(2))


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass(frozen=True)
class Period:
    """Whole calendar months from `first` to `last` inclusive."""

    months: tuple[str, ...]
    start: datetime  # the first month's first moment
    end: datetime  # the moment after the last month (exclusive)

    def month_ends(self) -> list[datetime]:
        """The moment after each month, in order."""
        ends = []
        for text in self.months:
            parsed = parse_month(text)
            assert parsed is not None
            ends.append(datetime(*_next(*parsed), 1, tzinfo=TIMEZONE))
        return ends


def month_of(at: datetime) -> str:
    return at.astimezone(TIMEZONE).strftime("%Y-%m")


def period(from_month: str, to_month: str, field_from: str = "from", field_to: str = "to") -> Period:
    """The months from..to; InvalidArgument (invalid_month, invalid_period) names the field."""
    first = parse_month(from_month)
    if first is None:
        raise InvalidArgument(
            "invalid_month", "Geef een maand als JJJJ-MM, bijvoorbeeld 2026-03.", field=field_from
        )
    last = parse_month(to_month)
    if last is None:
        raise InvalidArgument(
            "invalid_month", "Geef een maand als JJJJ-MM, bijvoorbeeld 2026-03.", field=field_to
        )
    if last < first:
        raise InvalidArgument("invalid_period", "De eerste maand ligt na de laatste.", field=field_to)
    months: list[str] = []
    cursor = first
    while cursor <= last:
        months.append(f"{cursor[0]:04d}-{cursor[1]:02d}")
        if len(months) > MAX_MONTHS:
            raise InvalidArgument(
                "invalid_period", f"Vraag hoogstens {MAX_MONTHS} maanden tegelijk op.", field=field_to
            )
        cursor = _next(*cursor)
    end = datetime(*_next(*last), 1, tzinfo=TIMEZONE)
    return Period(tuple(months), datetime(*first, 1, tzinfo=TIMEZONE), end)


def last_months(today: date, count: int = 12) -> tuple[str, str]:
    """(from, to) of the `count` months ending with the month of `today`."""
    year, month = today.year, today.month
    index = year * 12 + month - 1 - (count - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}", f"{year:04d}-{month:02d}"


def age_band(age: int) -> str:
    """The issue-16 age band of an age in whole years."""
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return AGE_BANDS[0][0]


# One counted row: (month or "", category key or "", count).
CountRow = tuple[str, str, int]


async def read_counts(
    pool: AsyncConnectionPool, queries: dict[str, str], fragments: dict[str, str], params: dict[str, Any]
) -> dict[str, list[CountRow]]:
    """Run each counting query (selecting month, key, count) in one read-only snapshot, so
    the numbers shown together were taken at the same moment. `{name}` in a query is the
    constant SQL fragment of that name; values travel only as parameters."""
    parts = {name: sql.SQL(text) for name, text in fragments.items()}
    results: dict[str, list[CountRow]] = {}
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, query in queries.items():
            composed = sql.SQL(query).format(**parts)
            cur = await conn.execute(composed, params)
            results[name] = [(str(m), str(k), int(c)) for m, k, c in await cur.fetchall()]
    return results


def to_counts(rows: list[CountRow]) -> list[signal_pb2.StatisticsCount]:
    """Counted rows as StatisticsCount, in month and key order, zeros left out."""
    return [signal_pb2.StatisticsCount(month=m, key=k, count=c) for m, k, c in sorted(rows) if c]
