"""Demo appointments at the service hall's windows (首贷中心), consistent with the first-loan funnel.

What ``core.services.first_loan`` would have recorded, generated in bulk for first-time borrowers
(enterprises with no loan history before the platform: ``has_had_loan`` false, or whose first loan is
flagged ``is_first_loan``):

* **Visits** — some first-time borrowers came to the hall (:data:`VISIT_P`, by what they did later). An
  applicant's visit lies 1–18 working days before its first application, so everything it did afterwards
  counts in the funnel (visit → guidance → application → first loan → repeat loan) and the funnel narrows at every
  step, in total, per window and per institution. Every applicant was given guidance; most others too.
* **Other bookings** — a missed (``no_show``) or ``cancelled`` booking before some visits, and on their
  own for a few; a follow-up visit after some first loans; and ``booked`` slots in the coming weeks
  (after ``as_of``, within ``BOOKING_DAYS``) for a few first-time borrowers without a loan and every
  demo enterprise that is one.
* **Slots** — 30-minute slots of :data:`core.services.first_loan.SLOT_STARTS` on China's working days at
  windows 1 … ``SERVICE_WINDOWS``. No two appointments share a window and slot (stronger than the
  partial unique index, which covers booked ones only): each working day's k-th booking takes the k-th
  place of a fixed permutation of the day's (slot, window) places, counted across chunks; a full day
  sends the rest to the working day before (after, for coming bookings).
"""

from __future__ import annotations

from math import gcd

import numpy as np
import pandas as pd

from core.seed.workcal import DAY, WorkCalendar, seconds, timestamps

APPOINTMENT_COLUMNS = ["id", "enterprise_id", "window_no", "slot_start", "slot_minutes", "topic", "note", "status",
                       "guidance_note", "booked_by_id", "idempotency_key", "created_at", "attended_at"]
# Who came to the hall, by what they did later (so that the funnel has believable conversion rates).
VISIT_P = {"repeat_loan": 0.12, "first_loan": 0.35, "applied": 0.8, "none": 0.3}
VISIT_NOTES = [
    "第一次贷款，想了解办理流程", "想咨询信用贷款需要准备哪些材料", "了解首贷贴息和担保政策",
    "企业扩大生产需要资金，咨询适合的产品", "咨询没有抵押物能否贷款", "想了解纳税信用能贷多少",
]
GUIDANCE_NOTES = [
    "讲解首贷办理流程，建议准备近两年财务报表和纳税证明后线上申请",
    "推荐首贷友好的纯信用产品，指导企业完成征信授权",
    "企业纳税记录良好，建议申请税易贷类产品，并告知所需材料清单",
    "建议先补充社保和公积金缴存记录，三个月后再申请",
    "介绍政府性融资担保“见贷即保”政策，协助对接担保公司",
    "指导企业在平台发布融资需求，由银行主动对接",
]
FOLLOW_UP_NOTES = ["首贷后回访，了解资金使用情况", "咨询续贷和提额办理条件", "了解无还本续贷政策"]


class HallGenerator:
    """Appointments for each enterprise chunk; keeps every working day's bookings across chunks."""

    def __init__(self, gen, cal: WorkCalendar) -> None:
        from core.services.first_loan import BOOKING_DAYS, SLOT_STARTS, windows

        self.gen, self.cal = gen, cal
        self.windows = windows()
        self.slot_tod = np.array([t.hour * 3600 + t.minute * 60 for t in SLOT_STARTS], dtype=np.int64)
        self.capacity = len(SLOT_STARTS) * self.windows
        self.step = next(p for p in (97, 101, 103, 107, 109, 113, 127, 131) if gcd(p, self.capacity) == 1)
        self.booked = np.zeros(len(cal.work), dtype=np.int64)
        self.open_idx = int(cal.on_or_before(np.array([gen.window_start_day.astype(np.int64)]))[0]) + 1
        self.today_idx = int(cal.on_or_before(np.array([gen.as_of_day.astype(np.int64)]))[0])
        self.horizon_idx = int(cal.on_or_before(np.array([gen.as_of_day.astype(np.int64) + BOOKING_DAYS]))[0])

    def _places(self, day_idx: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(day index, window 1…W, slot index) for bookings wanted on ``day_idx``; a full day spills over to
        the next working day in the direction of ``step`` (-1 for what happened by ``as_of``, +1 after)."""
        day = day_idx.astype(np.int64).copy()
        order = np.argsort(day, kind="stable")
        pos = np.empty(len(day), dtype=np.int64)
        while True:
            sd = day[order]
            rank = pd.Series(sd).groupby(sd).cumcount().to_numpy()
            pos[order] = self.booked[np.minimum(sd, len(self.booked) - 1)] + rank
            full = pos >= self.capacity
            if not full.any():
                break
            day[full] += step[full]
            order = np.argsort(day, kind="stable")
        if len(day) and (day.max() >= len(self.booked) or day.min() < 0):
            raise ValueError("the hall's calendar is too short for these bookings")
        np.add.at(self.booked, day, 1)
        place = (pos * self.step + day * 7) % self.capacity
        return day, place % self.windows + 1, place // self.windows

    def add(self, rng: np.random.Generator, frames: dict[str, pd.DataFrame], admin_of: dict) -> None:
        """Add ``appointment`` to ``frames`` (see the module rules)."""
        ent, loans, app = frames["enterprise"], frames["loan"], frames["application"]
        cal, n = self.cal, len(ent)
        ids = self._ent_ids = ent["id"].to_numpy()
        firsts = loans.loc[loans["is_first_loan"].astype(bool), "enterprise_id"]
        has_first = np.isin(ids, firsts.to_numpy())
        first_time = ~ent["has_had_loan"].to_numpy(bool) | has_first
        first_app = pd.Series(seconds(app["submitted_at"]), index=app["enterprise_id"].to_numpy()).groupby(level=0).min()
        s0 = first_app.reindex(ids).to_numpy(dtype=float)
        applied = ~np.isnan(s0)
        demo = np.isin(ids, np.array(list(admin_of), dtype=np.int64))
        repeat = has_first & np.isin(ids, loans["enterprise_id"][loans["enterprise_id"].duplicated()].to_numpy())
        p = np.where(repeat, VISIT_P["repeat_loan"], np.where(has_first, VISIT_P["first_loan"], np.where(
            applied, VISIT_P["applied"], VISIT_P["none"])))
        visit = first_time & ((rng.random(n) < p) | demo)
        # Visit day (a working-day index, so that holidays do not pile visits up on their eves): 1–18
        # working days before the first application, or (never applied) any working day, more often lately.
        s0_day = cal.local_day(np.nan_to_num(s0).astype(np.int64))
        before = np.searchsorted(cal.work, s0_day, "left") - rng.integers(1, 19, n)
        months = self.gen.months
        weights = np.exp(0.045 * np.arange(len(months)))
        month = rng.choice(len(months), size=n, p=weights / weights.sum())
        lo = np.searchsorted(cal.work, months[month].astype("datetime64[D]").astype(np.int64), "left")
        hi = np.searchsorted(cal.work, (months[month] + 1).astype("datetime64[D]").astype(np.int64), "left")
        founded = np.searchsorted(cal.work, ent["founded_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
                                  + 10, "left")
        any_day = np.minimum(np.maximum(lo + (rng.random(n) * (hi - lo)).astype(np.int64), founded), self.today_idx)
        day = np.where(applied, before, any_day)
        visit &= day >= self.open_idx
        guided = applied | (rng.random(n) < 0.7)
        parts = [self._rows(np.flatnonzero(visit), day, "attended", guided, GUIDANCE_NOTES, rng)]
        # Earlier missed or cancelled bookings of some visitors, and of a few who never came.
        for status, p_visitor, p_other in (("no_show", 0.12, 0.04), ("cancelled", 0.08, 0.03)):
            roll = rng.random(n)
            who = np.flatnonzero(first_time & np.where(visit, roll < p_visitor, roll < p_other))
            earlier = np.where(visit[who], day[who] - rng.integers(1, 11, len(who)), any_day[who])
            keep = earlier >= self.open_idx
            parts.append(self._rows(who[keep], self._at(earlier[keep], who[keep]), status, None, None, rng))
        # Follow-up visits after some first loans.
        first_loans = loans[loans["is_first_loan"].astype(bool)]
        disbursed = pd.Series(seconds(first_loans["disbursed_at"]),
                              index=first_loans["enterprise_id"].to_numpy()).groupby(level=0).min()
        who = np.flatnonzero(visit & has_first & (rng.random(n) < 0.2))
        after = cal.on_or_before(cal.local_day(disbursed.reindex(ids[who]).to_numpy(np.int64))
                                 + rng.integers(5, 61, len(who)))
        keep = after <= self.today_idx
        parts.append(self._rows(who[keep], self._at(after[keep], who[keep]), "attended",
                                np.ones(n, bool), FOLLOW_UP_NOTES, rng))
        # Coming bookings: a few first-time borrowers without a loan, and the demo enterprises that are one.
        who = np.flatnonzero(first_time & ~has_first & ((rng.random(n) < 0.02) | demo))
        coming = np.minimum(self.today_idx + rng.integers(1, 22, len(who)), self.horizon_idx)
        parts.append(self._rows(who, self._at(coming, who), "booked", None, None, rng))
        parts = [x for x in parts if not x.empty]
        frames["appointment"] = (self._finish(rng, pd.concat(parts, ignore_index=True), admin_of) if parts
                                 else pd.DataFrame(columns=APPOINTMENT_COLUMNS))

    @staticmethod
    def _at(days: np.ndarray, who: np.ndarray) -> np.ndarray:
        """A day-index array addressable by enterprise row (for :meth:`_rows`)."""
        out = np.zeros(int(who.max()) + 1 if len(who) else 0, dtype=np.int64)
        out[who] = days
        return out

    def _rows(self, who, day, status, guided, notes, rng) -> pd.DataFrame:
        guidance = None
        if guided is not None:
            picks = np.array(notes, dtype=object)[rng.integers(0, len(notes), len(who))]
            guidance = np.where(guided[who], picks, None)
        return pd.DataFrame({"_row": who, "_day": day[who] if len(who) else np.zeros(0, np.int64),
                             "status": status, "guidance_note": guidance})

    def _finish(self, rng, frame: pd.DataFrame, admin_of: dict) -> pd.DataFrame:
        ent_ids = self._ent_ids
        frame = frame.sort_values(["_day", "_row"], kind="stable").reset_index(drop=True)
        m = len(frame)
        coming = frame["status"].to_numpy() == "booked"
        day_idx, window, slot = self._places(frame["_day"].to_numpy(np.int64), np.where(coming, 1, -1))
        start = self.cal.local_time(self.cal.day_at(day_idx), self.slot_tod[slot])
        booked_at = np.minimum(start - (rng.uniform(1, 12, m) * DAY).astype(np.int64),
                               self.gen.cutoff - (rng.uniform(1, 72, m) * 3600).astype(np.int64))
        attended = frame["status"].to_numpy() == "attended"
        ids = self.gen._ids("appointment", m)
        eids = ent_ids[frame["_row"].to_numpy(np.int64)]
        admins = pd.Series(admin_of, dtype="Int64").reindex(eids)
        notes = np.where(rng.random(m) < 0.7, np.array(VISIT_NOTES, dtype=object)[rng.integers(0, len(VISIT_NOTES), m)],
                         None)
        return pd.DataFrame({
            "id": ids, "enterprise_id": eids, "window_no": window, "slot_start": timestamps(start),
            "slot_minutes": 30, "topic": "first_loan", "note": notes, "status": frame["status"].to_numpy(),
            "guidance_note": frame["guidance_note"].to_numpy(), "booked_by_id": admins.array,
            "idempotency_key": [f"seed-appt-{i}" for i in ids], "created_at": timestamps(booked_at),
            "attended_at": timestamps(np.where(attended, start + rng.integers(0, 15 * 60, m), np.nan)),
        }, columns=APPOINTMENT_COLUMNS)
