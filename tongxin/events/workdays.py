"""Working days on the Chinese calendar, for event deadlines (SPEC §4).

Holidays and the weekend days made into working days (调休) come from `chinese_calendar`, which
ships the State Council's schedule year by year. Deadlines are counted in Asia/Shanghai whatever
the server's zone: "three working days" means three of Shanghai's working days.

A deadline of N working days is the end (24:00, Shanghai) of the N-th working day after the day
the event reached its level; so an event reported on a Friday afternoon with one working day is
due at the end of Monday, and one reported on the last day before a holiday counts on from the
first working day after it.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
logger = logging.getLogger(__name__)
_warned_years: set[int] = set()


@lru_cache(maxsize=4096)
def is_workday(day: dt.date) -> bool:
    """A working day in mainland China, adjusted workdays included.

    Beyond the years the library knows (it is updated each December when the next year's
    schedule is published) we fall back to Monday–Friday and log it once per year, rather than
    stop every deadline in the system.
    """
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning("no holiday schedule for %s: counting Monday–Friday", day.year)
        return day.weekday() < 5


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The end of the `days`-th working day after `start`'s day (Shanghai), as an aware datetime."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    day = start.astimezone(SHANGHAI).date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_workday(day):
            counted += 1
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: how many of a deadline's days have been used up."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count
