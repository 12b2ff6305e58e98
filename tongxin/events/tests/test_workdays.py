"""Deadlines in working days on the Chinese calendar, adjusted workdays included.

National Day 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are workdays.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tongxin.events.workdays import SHANGHAI, add_working_days, is_workday, working_days_between


def at(y: int, m: int, d: int, hour: int = 15) -> dt.datetime:
    return dt.datetime(y, m, d, hour, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=SHANGHAI) + dt.timedelta(days=1)


def test_the_2025_national_day_schedule_is_known():
    assert is_workday(dt.date(2025, 9, 28))  # Sunday, adjusted workday
    assert not is_workday(dt.date(2025, 10, 1))
    assert not is_workday(dt.date(2025, 10, 8))  # Wednesday, still off
    assert is_workday(dt.date(2025, 10, 11))  # Saturday, adjusted workday
    assert not is_workday(dt.date(2025, 10, 12))


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Friday before the holiday: the next working day is the adjusted Sunday.
        (at(2025, 9, 26), 1, end_of(2025, 9, 28)),
        (at(2025, 9, 26), 2, end_of(2025, 9, 29)),
        (at(2025, 9, 26), 3, end_of(2025, 9, 30)),
        # Across the eight days off: the 9th is the first working day after them.
        (at(2025, 9, 26), 4, end_of(2025, 10, 9)),
        (at(2025, 9, 30), 1, end_of(2025, 10, 9)),
        (at(2025, 9, 30), 2, end_of(2025, 10, 10)),
        # ... and the adjusted Saturday counts, the Sunday after it does not.
        (at(2025, 9, 30), 3, end_of(2025, 10, 11)),
        (at(2025, 9, 30), 4, end_of(2025, 10, 13)),
        # Reported during the holiday: counting starts after it.
        (at(2025, 10, 3), 1, end_of(2025, 10, 9)),
        # An ordinary week: Friday + 1 → Monday.
        (at(2025, 11, 14), 1, end_of(2025, 11, 17)),
    ],
)
def test_add_working_days_across_national_day(start, days, due):
    assert add_working_days(start, days) == due


def test_the_day_is_shanghais_not_utcs():
    # 17:30 UTC on 29 September is already 30 September in Shanghai: one working day later is
    # the first day after the holiday, not the 30th as UTC's calendar would have it.
    late = dt.datetime(2025, 9, 29, 17, 30, tzinfo=dt.UTC)  # 30 Sep 01:30 Shanghai
    assert add_working_days(late, 1) == end_of(2025, 10, 9)
    early = dt.datetime(2025, 9, 29, 15, 30, tzinfo=dt.UTC)  # 29 Sep 23:30 Shanghai
    assert add_working_days(early, 1) == end_of(2025, 9, 30)


def test_years_beyond_the_library_fall_back_to_weekdays(caplog):
    friday = dt.datetime(2099, 1, 2, 10, tzinfo=SHANGHAI)
    assert add_working_days(friday, 1) == end_of(2099, 1, 5)


def test_working_days_between_counts_used_days():
    assert working_days_between(dt.date(2025, 9, 30), dt.date(2025, 10, 11)) == 3


def test_arguments_are_checked():
    with pytest.raises(ValueError):
        add_working_days(at(2025, 1, 1), 0)
    with pytest.raises(ValueError):
        add_working_days(dt.datetime(2025, 1, 1), 1)  # noqa: DTZ001 - the point of the test
