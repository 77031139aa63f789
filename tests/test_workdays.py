"""Working days and deadlines: pure functions, no database, no Flask."""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from app.services.workdays import (
    HOLIDAYS,
    VIETNAM,
    add_working_days,
    working_days_between,
)

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0004_holidays.py"
YEARS = range(2025, 2031)


def vn(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=VIETNAM)


def test_friday_evening_plus_one_working_day_is_due_at_the_end_of_monday():
    due = add_working_days(vn(2026, 3, 6, 19, 30), 1, set())  # Friday
    assert due == end_of(date(2026, 3, 9))
    assert due.utcoffset() == timedelta(0)
    assert due == datetime(2026, 3, 9, 16, 59, 59, 999999, tzinfo=UTC)
    assert due.astimezone(VIETNAM).time() == time(23, 59, 59, 999999)


def test_a_holiday_monday_pushes_the_deadline_to_tuesday():
    holidays = {date(2026, 3, 9)}
    assert add_working_days(vn(2026, 3, 6, 19, 30), 1, holidays) == end_of(date(2026, 3, 10))


def test_a_deadline_across_tet_2026_skips_the_five_tet_days_and_the_weekend():
    # Friday 13 Feb 2026; weekend 14-15; Tết 16-20 Feb; weekend 21-22.
    due = add_working_days(vn(2026, 2, 13, 10), 3, HOLIDAYS)
    assert due == end_of(date(2026, 2, 25))  # Mon 23, Tue 24, Wed 25


def test_zero_days_is_the_end_of_the_same_local_day():
    assert add_working_days(vn(2026, 3, 7, 8), 0, HOLIDAYS) == end_of(date(2026, 3, 7))  # even a Saturday


def test_a_utc_time_already_the_next_day_in_vietnam_counts_from_the_local_date():
    start = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)  # 01:00 Friday 6 March in Vietnam
    assert add_working_days(start, 0, HOLIDAYS) == end_of(date(2026, 3, 6))
    assert add_working_days(start, 1, HOLIDAYS) == end_of(date(2026, 3, 9))


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(vn(2026, 3, 6), -1, HOLIDAYS)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 3, 6, 9), 1, HOLIDAYS)


def test_holidays_may_be_any_collection_of_dates():
    start = vn(2026, 3, 6, 19, 30)
    assert add_working_days(start, 1, [date(2026, 3, 9)]) == add_working_days(start, 1, {date(2026, 3, 9): "x"})


def test_a_few_hundred_working_days_is_fast_and_consistent_with_counting():
    start = vn(2025, 1, 2, 9)
    due = add_working_days(start, 300, HOLIDAYS)
    assert working_days_between(start, due, HOLIDAYS) == 300
    assert working_days_between(start, due - timedelta(days=1), HOLIDAYS) == 299


def test_working_days_between_counts_monday_to_friday_without_holidays():
    friday = vn(2026, 3, 6, 17)
    assert working_days_between(friday, vn(2026, 3, 13, 9), set()) == 5  # Mon 9 .. Fri 13
    assert working_days_between(friday, vn(2026, 3, 15, 9), set()) == 5  # the weekend adds nothing
    assert working_days_between(friday, vn(2026, 3, 13, 9), {date(2026, 3, 11), date(2026, 3, 14)}) == 4
    # Tết 2026 (16-20 Feb) takes a whole week out.
    assert working_days_between(vn(2026, 2, 13), vn(2026, 2, 27), HOLIDAYS) == 5


def test_working_days_between_is_zero_on_or_before_the_start_date():
    start = vn(2026, 3, 4, 9)
    assert working_days_between(start, vn(2026, 3, 4, 23), HOLIDAYS) == 0
    assert working_days_between(start, vn(2026, 3, 2, 9), HOLIDAYS) == 0


def test_working_days_between_uses_local_dates():
    start = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)  # Friday 6 March in Vietnam
    assert working_days_between(start, datetime(2026, 3, 6, 16, 0, tzinfo=UTC), set()) == 0
    assert working_days_between(start, datetime(2026, 3, 8, 18, 0, tzinfo=UTC), set()) == 1  # Monday 01:00 VN


def test_holidays_are_eleven_real_dates_each_year_2025_to_2030():
    assert all(type(day) is date for day in HOLIDAYS)
    assert {day.year for day in HOLIDAYS} == set(YEARS)
    for year in YEARS:
        assert sum(1 for day in HOLIDAYS if day.year == year) == 11  # 1 + 5 + 1 + 1 + 1 + 2
    assert all(name and len(name) <= 120 for name in HOLIDAYS.values())


def test_fixed_holidays_are_on_their_days():
    for year in YEARS:
        for month, day in ((1, 1), (4, 30), (5, 1), (9, 1), (9, 2)):
            assert date(year, month, day) in HOLIDAYS


def test_every_tet_block_is_five_consecutive_days_ending_on_the_fourth_day_of_the_lunar_year():
    lunar_new_year = {
        2025: date(2025, 1, 29),
        2026: date(2026, 2, 17),
        2027: date(2027, 2, 6),
        2028: date(2028, 1, 26),
        2029: date(2029, 2, 13),
        2030: date(2030, 2, 2),  # Vietnam (UTC+7); China's is 3 February
    }
    for year, first in lunar_new_year.items():
        block = [day for day, name in HOLIDAYS.items() if day.year == year and name.startswith("Tết Nguyên đán")]
        assert block == [first + timedelta(days=n) for n in range(-1, 4)]
        assert block[-1] == first + timedelta(days=3)


def test_hung_kings_day_is_in_april_each_year():
    for year in YEARS:
        days = [day for day, name in HOLIDAYS.items() if day.year == year and "Hùng Vương" in name]
        assert len(days) == 1
        assert days[0].month == 4


def test_the_migration_carries_exactly_the_holidays():
    spec = importlib.util.spec_from_file_location("migration_0004_holidays", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.revision, module.down_revision) == ("0004", "0003")
    assert len(module.HOLIDAYS) == len({day for day, _ in module.HOLIDAYS})
    assert {date.fromisoformat(day): name for day, name in module.HOLIDAYS} == HOLIDAYS
