"""China's working-day calendar as arrays, for the demo generator's vectorized SLA clocks and hall slots.

:class:`WorkCalendar` holds the official working days (``core.lending.workdays.is_working_day``: the
State Council calendar with its make-up working days) of a date range as day numbers since the epoch,
so that thousands of deadlines are computed at once with ``searchsorted``. Its :meth:`deadline`
gives exactly what :func:`core.lending.workdays.sla_deadline` gives for one timestamp (a unit test
checks them against each other). Times are ``int64`` seconds since the epoch, UTC.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from core.lending.workdays import is_working_day

DAY = 86_400
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai has no daylight saving time: UTC+8 all year
CUTOFF_SECONDS = 17 * 3600  # a lead received at or after 17:00 local counts from the next working day


def seconds(values: pd.Series) -> np.ndarray:
    """Aware timestamps → int64 seconds since the epoch (NaT → NaN as float)."""
    if values.isna().any():
        out = np.full(len(values), np.nan)
        ok = values.notna().to_numpy()
        out[ok] = values[ok].dt.as_unit("s").astype("int64").to_numpy()
        return out
    return values.dt.as_unit("s").astype("int64").to_numpy()


def timestamps(secs) -> pd.Series:
    """int64 (or float with NaN) seconds → an aware UTC timestamp Series (NaN → NaT)."""
    arr = np.asarray(secs, dtype=float)
    out = pd.Series(pd.to_datetime(np.where(np.isnan(arr), 0, arr).astype(np.int64), unit="s", utc=True))
    return out.where(~np.isnan(arr))


class WorkCalendar:
    """The working days between ``first`` and ``last`` (inclusive) as sorted day numbers."""

    def __init__(self, first: date, last: date) -> None:
        days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
        flags = np.fromiter((is_working_day(d.item()) for d in days), dtype=bool, count=len(days))
        self.first = int(days[0].astype(np.int64))
        self.last = int(days[-1].astype(np.int64))
        self.work = days[flags].astype(np.int64)

    def _check(self, day: np.ndarray) -> None:
        if len(day) and (day.min() < self.first or day.max() > self.last):
            raise ValueError("a day lies outside the working-day calendar's range")

    def local_day(self, secs: np.ndarray) -> np.ndarray:
        """The Asia/Shanghai calendar day (day number) of each time."""
        return (np.asarray(secs, dtype=np.int64) + LOCAL_OFFSET) // DAY

    def clock_start(self, secs: np.ndarray) -> np.ndarray:
        """Index in :attr:`work` of the working day a clock started at ``secs`` counts from."""
        local = np.asarray(secs, dtype=np.int64) + LOCAL_OFFSET
        day, tod = local // DAY, local % DAY
        self._check(day)
        left = np.searchsorted(self.work, day, "left")
        right = np.searchsorted(self.work, day, "right")
        on_working_day = right > left
        return np.where(on_working_day & (tod < CUTOFF_SECONDS), left, right)

    def deadline(self, secs: np.ndarray, working_days: int) -> np.ndarray:
        """End (23:59:59 local) of the ``working_days``-th working day of a clock started at ``secs``."""
        idx = self.clock_start(secs) + int(working_days)
        if len(idx) and idx.max() >= len(self.work):
            raise ValueError("a deadline lies beyond the working-day calendar's range")
        return (self.work[idx] + 1) * DAY - 1 - LOCAL_OFFSET

    def day_at(self, idx: np.ndarray) -> np.ndarray:
        """Day numbers of working-day indices (clipped to the range)."""
        return self.work[np.clip(idx, 0, len(self.work) - 1)]

    def on_or_before(self, day: np.ndarray) -> np.ndarray:
        """Index of the last working day on or before each day number."""
        return np.maximum(np.searchsorted(self.work, np.asarray(day, dtype=np.int64), "right") - 1, 0)

    def local_time(self, day: np.ndarray, tod_seconds: np.ndarray) -> np.ndarray:
        """UTC seconds of a local (Asia/Shanghai) day number and time of day in seconds."""
        return np.asarray(day, dtype=np.int64) * DAY + np.asarray(tod_seconds, dtype=np.int64) - LOCAL_OFFSET
