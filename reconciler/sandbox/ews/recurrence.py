"""Expand a recurring series into occurrence start times, as CalendarView does.

Occurrences keep the series' wall-clock time in its own time zone (a 09:00 Pacific weekly meeting is
at 17:00 UTC in winter and 16:00 UTC in summer). Patterns: Daily, Weekly, Absolute/Relative Monthly,
Absolute/Relative Yearly; ranges: NoEnd, EndDate, Numbered.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from typing import Any

from .wire import ItemError, parse_date

_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAY_GROUPS = {"Day": list(range(7)), "Weekday": [0, 1, 2, 3, 4], "WeekendDay": [5, 6]}
_MONTHS = {name: i for i, name in enumerate(calendar.month_name) if name}
_INDEX = {"First": 0, "Second": 1, "Third": 2, "Fourth": 3, "Last": -1}
MAX_OCCURRENCES = 5000  # a guard against NoEnd series expanded without a window


def _weekdays(text: str) -> list[int]:
    days: list[int] = []
    for name in text.split():
        if name in _DAY_GROUPS:
            days.extend(_DAY_GROUPS[name])
        elif name in _DAYS:
            days.append(_DAYS.index(name))
        else:
            raise ItemError("ErrorInvalidRecurrence", f"unknown day of week {name!r}")
    return sorted(set(days))


def _nth_weekday(year: int, month: int, weekdays: list[int], index: str) -> dt.date:
    last = calendar.monthrange(year, month)[1]
    matching = [dt.date(year, month, d) for d in range(1, last + 1) if dt.date(year, month, d).weekday() in weekdays]
    return matching[_INDEX[index]] if _INDEX[index] < 0 else matching[min(_INDEX[index], len(matching) - 1)]


def _add_months(date: dt.date, months: int) -> tuple[int, int]:
    total = date.year * 12 + date.month - 1 + months
    return total // 12, total % 12 + 1


def _dates(pattern: str, p: dict[str, str], start: dt.date) -> Iterator[dt.date]:
    """Candidate dates in order, from the range start on (unbounded; the caller stops)."""
    interval = int(p.get("Interval", "1") or 1)
    k = 0
    while True:
        if pattern == "DailyRecurrence":
            yield start + dt.timedelta(days=k * interval)
        elif pattern == "WeeklyRecurrence":
            first_day = _DAYS.index(p.get("FirstDayOfWeek") or "Sunday")
            week_start = start - dt.timedelta(days=(start.weekday() - first_day) % 7)
            for day in sorted(_weekdays(p["DaysOfWeek"]), key=lambda d: (d - first_day) % 7):
                date = week_start + dt.timedelta(days=7 * k * interval + (day - first_day) % 7)
                if date >= start:
                    yield date
        elif pattern in ("AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence"):
            year, month = _add_months(start.replace(day=1), k * interval)
            if pattern == "AbsoluteMonthlyRecurrence":
                date = dt.date(year, month, min(int(p["DayOfMonth"]), calendar.monthrange(year, month)[1]))
            else:
                date = _nth_weekday(year, month, _weekdays(p["DaysOfWeek"]), p["DayOfWeekIndex"])
            if date >= start:
                yield date
        elif pattern in ("AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence"):
            year, month = start.year + k, _MONTHS[p["Month"]]
            if pattern == "AbsoluteYearlyRecurrence":
                date = dt.date(year, month, min(int(p["DayOfMonth"]), calendar.monthrange(year, month)[1]))
            else:
                date = _nth_weekday(year, month, _weekdays(p["DaysOfWeek"]), p["DayOfWeekIndex"])
            if date >= start:
                yield date
        else:
            raise ItemError("ErrorInvalidRecurrence", f"the sandbox does not expand {pattern}")
        k += 1


def occurrence_starts(recurrence: dict[str, Any], series_start: dt.datetime, zone: dt.tzinfo,
                      until: dt.datetime | None) -> Iterator[dt.datetime]:
    """UTC start of every occurrence, in order, up to ``until`` (UTC) when the range has no end."""
    pattern, p = recurrence["pattern"]
    range_kind, r = recurrence["range"]
    local_start = series_start.astimezone(zone)
    first = parse_date(r["StartDate"]) if r.get("StartDate") else local_start.date()
    last = parse_date(r["EndDate"]) if range_kind == "EndDateRecurrence" else None
    count = int(r["NumberOfOccurrences"]) if range_kind == "NumberedRecurrence" else None
    produced = 0
    for date in _dates(pattern, p, first):
        if last is not None and date > last:
            return
        if count is not None and produced >= count:
            return
        local = dt.datetime.combine(date, local_start.time().replace(tzinfo=None)).replace(tzinfo=zone)
        start = local.astimezone(dt.timezone.utc)
        if until is not None and start >= until:
            return
        if produced >= MAX_OCCURRENCES:
            return
        produced += 1
        yield start
