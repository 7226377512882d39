"""Zhengzhou's local time: what "today" means for every as-of date in the registry.

Rules with deadlines (EL-2 inspections, KG-2/KG-3, PK-3) and coverage runs "as of" a date are
judged on the calendar of Zhengzhou (UTC+8, no daylight saving), not on the server's clock: a
server running on UTC would otherwise still be on yesterday between 00:00 and 08:00 local time,
and a facility created then would fall after the day's end (``created_at`` < as-of + 1 day).

>>> import datetime as dt
>>> today(dt.datetime(2026, 12, 4, 20, 5, tzinfo=dt.timezone.utc))
datetime.date(2026, 12, 5)
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""Zhengzhou's time zone (China Standard Time, UTC+8)."""


def now() -> dt.datetime:
    """The current time in Zhengzhou (timezone-aware)."""
    return dt.datetime.now(LOCAL_TZ)


def today(at: dt.datetime | None = None) -> dt.date:
    """Zhengzhou's calendar date now (or at the aware datetime ``at``)."""
    return (at.astimezone(LOCAL_TZ) if at is not None else now()).date()


def start_of_next_day(day: dt.date) -> dt.datetime:
    """Local midnight after ``day``: the end (exclusive) of ``day`` in Zhengzhou."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=LOCAL_TZ)
