"""China's working-day clock for service-level agreements (SLA), from the official holiday calendar.

Working days come from the maintained ``chinese_calendar`` package, which carries each year's State
Council notice (holidays and the make-up working days, 调休). A year the package does not cover yet
(the notice is published each November for the next year) falls back to Monday–Friday, plus the
overrides in ``data/reference/workday_overrides.json`` where an operator can enter the new notice
before the package is updated; :func:`calendar_covers` lets callers say so on screen.

Pure: dates in, dates out. The SLA clock counts whole working days: a lead received on a working day
before 17:00 local time counts from that day (a clock of n days ends at the end of the n-th working
day after it); one received later, or on a rest day, counts from the next working day.
``add_working_days(d, n)`` is the n-th working day after ``d`` (``d`` itself not counted).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
OVERRIDES_PATH = Path(__file__).resolve().parents[2] / "data" / "reference" / "workday_overrides.json"


def _overrides() -> tuple[frozenset[date], frozenset[date]]:
    return _load_overrides(str(OVERRIDES_PATH))


@lru_cache(maxsize=4)
def _load_overrides(path: str) -> tuple[frozenset[date], frozenset[date]]:
    file = Path(path)
    if not file.exists():
        return frozenset(), frozenset()
    data = json.loads(file.read_text(encoding="utf-8"))
    holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays", []))
    workdays = frozenset(date.fromisoformat(d) for d in data.get("workdays", []))
    return holidays, workdays


def calendar_covers(day: date) -> bool:
    """Whether the official calendar (package or overrides) covers ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        holidays, workdays = _overrides()
        return any(d.year == day.year for d in holidays | workdays)
    return True


def is_working_day(day: date) -> bool:
    """True on an official working day in mainland China (make-up Saturdays included)."""
    holidays, workdays = _overrides()
    if day in workdays:
        return True
    if day in holidays:
        return False
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself is not counted); ``n`` ≥ 0."""
    if n < 0:
        raise ValueError("n must be non-negative")
    day = start
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when ``end`` is before ``start``."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def sla_deadline(received_at: datetime, working_days: int, *, cutoff: time = time(17, 0)) -> datetime:
    """When a clock of ``working_days`` started at ``received_at`` runs out: end of that working day.

    A lead received after ``cutoff`` (local time) or on a non-working day counts from the next
    working day, as a bank's service desk would. Returns an aware UTC-convertible datetime at 23:59:59
    local time of the deadline day.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    local = received_at.astimezone(SHANGHAI)
    day = local.date()
    if not is_working_day(day) or local.time() >= cutoff:
        day = add_working_days(day, 1)  # treated as received the next working morning
    deadline_day = add_working_days(day, working_days)
    return datetime.combine(deadline_day, time(23, 59, 59), tzinfo=SHANGHAI)


def working_days_left(deadline: datetime, now: datetime) -> int:
    """Working days from ``now`` until ``deadline`` (0 on the deadline day, negative when overdue)."""
    today = now.astimezone(SHANGHAI).date()
    due = deadline.astimezone(SHANGHAI).date()
    if now > deadline:
        return -max(working_days_between(due, today), 1)
    return working_days_between(today, due)
