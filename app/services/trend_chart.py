"""The report's weekly trend as a bar chart: plain geometry for a server-drawn SVG.

Weeks without petitions are drawn as empty weeks (the query leaves them out);
the count axis has round ticks from zero; the week axis names each week by
the date of its Monday (Vietnam time), thinned so the labels never overlap.
No JavaScript: the chart prints on A4 as it shows on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 720, 260  # the SVG's viewBox; text is sized in these units
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 30, 62  # room for the count labels, the title and the week labels
LABEL_ROOM = 52  # viewBox units one week label ("22/11") needs
MAX_WEEKS = 520  # beyond ten years an axis starts where the petitions start


@dataclass(frozen=True)
class Bar:
    monday: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class WeekLabel:
    x: float
    day: str  # "22/11"
    year: str  # "2026" under the first label and where the year changes, else ""


@dataclass(frozen=True)
class TrendChart:
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[WeekLabel]
    peak: Bar
    total: int
    first: date
    last: date
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def last_day(self) -> date:
        """The Sunday that ends the last week."""
        return self.last + timedelta(days=6)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks(trend: list[tuple[date, int]], since: date | None, until: date | None, today: date) -> list[tuple]:
    """Every week of the period (never past this week) with its count, 0 for weeks without petitions.

    Without a period: from the first week with petitions to the last.
    """
    counts = dict(trend)
    if not counts:
        return []
    start = min(monday_of(since), min(counts)) if since else min(counts)
    end = max(monday_of(min(until, today)), max(counts)) if until else max(counts)
    if (end - start).days // 7 >= MAX_WEEKS:
        start = min(counts)
    span = (end - start).days // 7 + 1
    return [(start + timedelta(weeks=i), counts.get(start + timedelta(weeks=i), 0)) for i in range(span)]


def nice_step(peak: int, most_ticks: int = 5) -> int:
    """A step of 1, 2 or 5 times a power of ten giving at most most_ticks ticks above zero."""
    if peak <= most_ticks:
        return 1
    magnitude = 10 ** math.floor(math.log10(peak / most_ticks))
    for factor in (1, 2, 5, 10):
        if peak / (factor * magnitude) <= most_ticks:
            return factor * magnitude
    return 10 * magnitude


def chart(
    trend: list[tuple[date, int]], today: date, since: date | None = None, until: date | None = None
) -> TrendChart | None:
    """The chart of a weekly trend over a period; None when no week has a petition."""
    filled = weeks(trend, since, until, today)
    peak_count = max((n for _, n in filled), default=0)
    if peak_count == 0:
        return None
    step = nice_step(peak_count)
    axis_top = math.ceil(peak_count / step) * step
    plot_left, plot_right, plot_top, plot_bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    slot = (plot_right - plot_left) / len(filled)
    gap = min(slot * 0.2, 4)

    def y_of(value: int) -> float:
        return round(plot_bottom - value / axis_top * (plot_bottom - plot_top), 1)

    bars = [
        Bar(
            monday,
            n,
            round(plot_left + i * slot + gap / 2, 2),
            y_of(n),
            round(slot - gap, 2),
            round(plot_bottom - y_of(n), 1),
        )
        for i, (monday, n) in enumerate(filled)
    ]
    every = max(1, math.ceil(LABEL_ROOM / slot))
    labels, year = [], None
    for i in range(0, len(filled), every):
        monday = filled[i][0]
        labels.append(
            WeekLabel(
                round(plot_left + (i + 0.5) * slot, 1),
                monday.strftime("%d/%m"),
                str(monday.year) if monday.year != year else "",
            )
        )
        year = monday.year
    peak = max(bars, key=lambda b: (b.count, -b.monday.toordinal()))  # the first of equal peaks
    return TrendChart(
        bars=bars,
        ticks=[Tick(v, y_of(v)) for v in range(0, axis_top + 1, step)],
        labels=labels,
        peak=peak,
        total=sum(n for _, n in filled),
        first=filled[0][0],
        last=filled[-1][0],
    )
