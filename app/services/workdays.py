"""Working days and the deadlines counted in them, with Vietnam's public holidays.

A *working day* is a Monday to Friday, in Vietnam's local date (Asia/Ho_Chi_Minh,
UTC+7), that is not a holiday.

A deadline of N working days from a moment `start` is counted like this: take the
local date of `start` in Vietnam; day 1 is the first working day AFTER that date,
day 2 the next working day, and so on. The deadline is the very end of day N,
23:59:59.999999 Vietnam time, returned as an aware datetime in UTC. So a petition
received on Friday evening with 1 working day is due at the end of Monday (or of
Tuesday if that Monday is a holiday), and N = 0 means the end of the day it came in.

`HOLIDAYS` lists the public holidays of the Labour Code 2019 (Art. 112) for
2025 to 2030, the days state offices close: Tết Dương lịch (1 January); Tết
Nguyên đán, 5 days: the last day of the lunar year and the first 4 days of the new
one; Giỗ Tổ Hùng Vương (10th day of the 3rd lunar month); 30 April; 1 May; Quốc
khánh, 2 September and one adjacent day, here 1 September. The lunar dates are
those of the Vietnamese calendar (UTC+7), which can differ from the Chinese one:
Tết 2030 is 2 February in Vietnam, 3 February in China.

The list leaves out substitute days off (nghỉ bù, when a holiday falls on a
weekend) and swapped working days (đổi ngày làm việc): the government announces
those every year, and it may pick 3 September instead of 1 September. It is only
the seed of the editable `holidays` table (migration 0004, which carries a copy of
it); the portal reads the holidays from that table, where administrators add the
announced days off. Working Saturdays swapped in are not modelled: a Saturday is
never a working day here.

Everything here is pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

_ONE_DAY = timedelta(days=1)


def local_date(moment: datetime) -> date:
    """The date in Vietnam at an aware moment."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be an aware datetime")
    return moment.astimezone(VIETNAM).date()


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def end_of_day(day: date) -> datetime:
    """23:59:59.999999 Vietnam time on `day`, as an aware datetime in UTC."""
    return datetime.combine(day, time.max, tzinfo=VIETNAM).astimezone(UTC)


def _as_set(holidays: Iterable[date]) -> Collection[date]:
    return holidays if isinstance(holidays, set | frozenset | dict) else frozenset(holidays)


def add_working_days(start: datetime, days: int, holidays: Collection[date]) -> datetime:
    """The end (23:59:59.999999 Vietnam time, in UTC) of the `days`-th working day
    after the local date of `start`; `days=0` is the end of that local date."""
    if days < 0:
        raise ValueError("days must not be negative")
    holidays = _as_set(holidays)
    day = local_date(start)
    left = days
    while left:
        day += _ONE_DAY
        if is_working_day(day, holidays):
            left -= 1
    return end_of_day(day)


def _weekdays_through(day: date) -> int:
    """Mondays to Fridays from 0001-01-01 (a Monday) up to and including `day`."""
    n = day.toordinal()
    return 5 * (n // 7) + min(n % 7, 5)


def working_days_between(start: datetime, end: datetime, holidays: Collection[date]) -> int:
    """Working days after the local date of `start` up to and including the local
    date of `end`; 0 when `end` falls on or before the local date of `start`."""
    first, last = local_date(start), local_date(end)
    if last <= first:
        return 0
    off = sum(1 for day in _as_set(holidays) if first < day <= last and day.weekday() < 5)
    return _weekdays_through(last) - _weekdays_through(first) - off


# Tết Nguyên đán (1st day of the 1st lunar month) and Giỗ Tổ Hùng Vương (10th day
# of the 3rd lunar month) in the Vietnamese lunar calendar, computed for UTC+7.
TET = {
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 2),  # new moon 23:07 on 2 Feb in Vietnam; China's Tết is 3 Feb
}
HUNG_KINGS = {
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 26),
    2027: date(2027, 4, 16),
    2028: date(2028, 4, 4),
    2029: date(2029, 4, 23),
    2030: date(2030, 4, 12),
}


def _holidays(years: Iterable[int]) -> dict[date, str]:
    days: dict[date, str] = {}

    def add(day: date, name: str) -> None:
        days.setdefault(day, name)  # two holidays on one day: the first name stays

    for year in years:
        tet = TET[year]
        add(date(year, 1, 1), "Tết Dương lịch")
        add(tet - _ONE_DAY, "Tết Nguyên đán (ngày cuối năm Âm lịch)")
        for n in range(1, 5):
            add(tet + (n - 1) * _ONE_DAY, f"Tết Nguyên đán (mùng {n})")
        add(HUNG_KINGS[year], "Giỗ Tổ Hùng Vương (10/3 Âm lịch)")
        add(date(year, 4, 30), "Ngày Giải phóng miền Nam, thống nhất đất nước")
        add(date(year, 5, 1), "Ngày Quốc tế Lao động")
        add(date(year, 9, 1), "Quốc khánh (ngày liền kề)")
        add(date(year, 9, 2), "Quốc khánh")
    return dict(sorted(days.items()))


HOLIDAYS: dict[date, str] = _holidays(range(2025, 2031))
