"""What maps, reports and exports count: a selection of petitions within the officer's scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import abort

from app import params
from app.models import Area, User
from app.models.petition import CHANNEL_NAMES, STATUS_NAMES
from app.queries.areas import area_by_code
from app.queries.report_stats import counts_by, counts_by_channel, on_time_share, summary, weekly_trend
from app.queries.selection import Selection
from app.services import categories, scope, trend_chart
from app.services.workdays import VIETNAM, local_date

PUBLIC_MIN_COUNT = 5  # areas with fewer petitions are not shown on the public map


@dataclass(frozen=True)
class Period:
    since: date | None = None
    until: date | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.since, time.min, VIETNAM) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time.min, VIETNAM) if self.until else None
        return start, end


def selection(
    user: User | None, *, province: Area | None = None, category: str = "", status: str = "", period: Period = Period()
) -> Selection:
    """The petitions this user may count, narrowed by the filters (a province only for central staff)."""
    since, until = period.bounds()
    common = {"category": category, "status": status, "since": since, "until": until}
    if user is not None and user.role == "province" and province is not None and province.id != user.area_id:
        abort(404)
    if user is None:
        # The public: aggregates of published petitions only, so no filter subtracted from another
        # reveals a petition it may not read (a private complaint, one not yet accepted); counted where
        # they are (their commune), never by whose inbox holds them — the country's map and a province's
        # then give a commune the same count, and a forward to another province shows in neither.
        narrowed = {"province_id": province.id} if province is not None else {}
        return Selection(**narrowed, **common, published_only=True)
    narrowed = scope.criteria(user)
    if not narrowed and province is not None:
        narrowed = scope.criteria_for_area(province)
    return Selection(**narrowed, **common)


WEEKS_BACK = 104  # the week slider reaches two years back


def period_from_args(args: Mapping[str, str]) -> Period:
    """The period of a query string: a week (weeks back from this one) wins over since/until dates.

    BadParam (a 400) for a malformed week or date, whichever wins (app/params.py).
    """
    week = params.parse_int(args, "week", 0, WEEKS_BACK)
    since, until = params.parse_date(args, "since"), params.parse_date(args, "until")
    if week is not None:
        today = local_date(datetime.now(UTC))  # this week is Vietnam's, whatever the server's clock
        monday = today - timedelta(days=today.weekday(), weeks=week)
        return Period(monday, monday + timedelta(days=6))
    return Period(since, until)


FILTERS = ("province", "category", "status", "since", "until", "week")  # what a link to the same selection keeps


def selection_from_args(user: User | None, args: Mapping[str, str]) -> Selection:
    """The selection a query string asks for, within the user's scope (404 for an unknown area, 400 for a bad value)."""
    province = None
    code = params.single(args, "province")
    if code:
        province = area_by_code(code)
        if province is None or province.level != "province":
            abort(404)
    return selection(
        user,
        province=province,
        category=params.parse_choice(args, "category", [c for c, _, _ in categories.active()]),
        status=params.parse_choice(args, "status", STATUS_NAMES),
        period=period_from_args(args),
    )


def public_count(n: int) -> int | None:
    """An area's count as the public sees it: None under a handful of petitions (they could point to a person)."""
    return n if n >= PUBLIC_MIN_COUNT else None


def public_channels(sel: Selection) -> list[dict]:
    """How a commune's petitions came in, by channel, for the public: a channel with only a few shows no count.

    Each: code, name, count (None when hidden) and share of all received (None likewise).
    """
    rows = counts_by_channel(sel)
    total = sum(n for _, n in rows)
    hidden = {code for code, n in rows if n < PUBLIC_MIN_COUNT}
    # The total is public: one hidden channel would be the total less the others, and
    # hidden ones adding up to a handful could be told apart. Hide the next smallest too
    # until the hidden ones are at least two and hold at least PUBLIC_MIN_COUNT together.
    for code, _ in sorted((row for row in rows if row[0] not in hidden), key=lambda row: row[1]):
        if not hidden or (len(hidden) >= 2 and sum(n for c, n in rows if c in hidden) >= PUBLIC_MIN_COUNT):
            break
        hidden.add(code)
    return [
        {
            "code": code,
            "name": str(CHANNEL_NAMES.get(code, code)),
            "count": None if code in hidden else n,
            "share": None if code in hidden else n / total,
        }
        for code, n in rows
    ]


def report(sel: Selection, level: str) -> dict:
    """The numbers of a report: summary, per area and per category tables, top villages, weekly trend.

    Rows are (code, name, total, open, resolved, overdue, parent): the top villages name their
    commune, as village names repeat from commune to commune.
    """
    column = {"country": "province_id", "province": "commune_id", "commune": "village_id"}[level]
    by_area = counts_by(sel, column)
    trend = weekly_trend(sel)
    since = local_date(sel.since) if sel.since else None
    until = local_date(sel.until - timedelta(microseconds=1)) if sel.until else None  # until is the next midnight
    return {
        "summary": summary(sel),
        "on_time": on_time_share(sel),
        "by_area": by_area,
        "by_category": counts_by(sel, "category_code"),
        "top_villages": by_area[:10] if column == "village_id" else counts_by(sel, "village_id", limit=10),
        "trend": trend,
        "trend_chart": trend_chart.chart(trend, local_date(datetime.now(UTC)), since, until),
    }
