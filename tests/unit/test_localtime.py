"""Zhengzhou's calendar decides "today", whatever the server's clock zone."""

from __future__ import annotations

import datetime as dt

from registry import localtime

UTC = dt.timezone.utc


def test_today_is_zhengzhou_date_not_utc() -> None:
    # 20:05 UTC on 4 December is 04:05 on 5 December in Zhengzhou.
    assert localtime.today(dt.datetime(2026, 12, 4, 20, 5, tzinfo=UTC)) == dt.date(2026, 12, 5)
    assert localtime.today(dt.datetime(2026, 12, 4, 15, 59, tzinfo=UTC)) == dt.date(2026, 12, 4)


def test_end_of_day_is_local_midnight() -> None:
    end = localtime.start_of_next_day(dt.date(2026, 12, 5))
    assert end == dt.datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 00:00 on 6 December, UTC+8
    created_early_morning = dt.datetime(2026, 12, 4, 20, 5, tzinfo=UTC)
    assert created_early_morning < localtime.start_of_next_day(localtime.today(created_early_morning))


def test_now_is_aware_utc_plus_8() -> None:
    assert localtime.now().utcoffset() == dt.timedelta(hours=8)
