"""Demo leads: the seeded financing needs dispatched (派单) to institutions, with their SLA clocks and outcomes.

What ``core.services.need_dispatch``, ``core.services.leads`` and the SLA sweep would have recorded, generated in bulk:

* **Dispatch** — every published need (not a draft) goes to at most K (its ``dispatch_limit``, mostly 3)
  institution families, the best-fitting first. Eligibility approximates the matching engine's hard
  rules on the products (a published lending product whose industries, scales, amount, term, rate
  cap and collateral fit the need; amount, term and collateral are relaxed when nothing fits), and a
  family ranks by its best product. A lead is routed like :func:`core.services.need_dispatch.route`: the
  family's branch in the enterprise's district (lowest id), else its head office.
* **Clocks** — ``first_response_due`` and ``decision_due`` are the working-day deadlines of
  :func:`core.lending.workdays.sla_deadline` (:class:`core.seed.workcal.WorkCalendar`), with the
  configured ``first_response_days`` and ``decision_days``.
* **Outcomes** — each family has its own habits (how often it declines, stays silent or answers late).
  An officer answers on a working day (responded, or declined with a reason) unless the sweep expired
  the lead first. The sweep runs minutes after a deadline, except on the few days it ran late — the
  only way a response can still come in after its deadline (SLA missed). An expired lead is closed and
  escalated at the sweep, and the need — while still open — is re-dispatched to the next eligible
  family (channel ``redispatch``, possibly again). A responded lead still open past its decision
  deadline is escalated once. Leads whose clock is still running at ``as_of`` stay ``pending``.
* **Applications** — an application linked to a need came through a dispatched lead (the lead is
  ``applied``, ``application.lead_id`` points to it, its officer answered before the submission),
  through a claim (抢单: after one lead was declined, the applying family claimed the need), or
  directly from the financial supermarket (no lead). Other open needs are sometimes claimed too.

Deterministic: one generator per chunk (``[seed, 3, chunk]``) and one for the families' habits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import get_settings
from core.seed.workcal import DAY, LOCAL_OFFSET, WorkCalendar, seconds, timestamps

LEAD_COLUMNS = ["id", "need_id", "institution_id", "product_id", "channel", "rank", "fit_score", "status",
                "officer_id", "dispatched_at", "first_response_due", "decision_due", "responded_at",
                "response_note", "closed_at", "escalated_at", "version"]
NON_LENDING_TYPES = ("insurance", "guarantee_service")
LEAD_FIRST_RESPONSE_DAYS, LEAD_DECISION_DAYS = 2, 5  # the defaults of core.services.need_dispatch
DISPATCH_LIMITS = np.array([1, 2, 3, 4, 5])
DISPATCH_LIMIT_P = [0.05, 0.15, 0.6, 0.1, 0.1]
# How an application linked to a need came about: through a dispatched lead, a claim, or directly.
MODE_P = {"lead": 0.62, "claim": 0.10}
CLAIM_P = 0.3  # an open need with a declined lead is claimed by another family
NEED_OPEN_DAYS = 90  # an unanswered need expires after this many days (as in the generator)
DECLINE_NOTES = [
    "企业所在区域暂不在我行服务范围内", "申请金额超出该产品额度上限", "企业经营年限不满足产品准入要求",
    "本季度普惠额度已用完，暂不受理", "企业近期征信查询次数较多，暂缓受理", "所属行业不在我行当前支持目录内",
    "企业已在他行获得同类授信", "需提供抵押物，企业表示无法提供",
]
CONTACT_NOTES = [
    "已电话联系企业负责人，约定上门走访", "已联系企业财务，告知所需材料清单", "客户经理已加企业联系人微信，持续跟进",
    "已上门了解经营情况，建议企业线上提交申请", "已向企业推荐适配产品并说明办理流程",
]


def sla_days() -> tuple[int, int]:
    """The configured first-response and decision clocks in working days, read from the settings as
    ``core.services.need_dispatch`` reads them (not imported: it pulls in the matching engine)."""
    settings = get_settings()
    return (int(getattr(settings, "lead_first_response_days", LEAD_FIRST_RESPONSE_DAYS)),
            int(getattr(settings, "lead_decision_days", LEAD_DECISION_DAYS)))


class LeadGenerator:
    """Leads for the needs of each enterprise chunk; built once from the generator and its static frames."""

    def __init__(self, gen, static: dict[str, pd.DataFrame], cal: WorkCalendar) -> None:
        self.gen, self.cal = gen, cal
        self.n1, self.n2 = sla_days()
        self.P = P = gen._product_arrays
        status = static["product"]["status"].to_numpy()
        self.lending = ~np.isin(P["type"], NON_LENDING_TYPES) & (status == "published")
        self.pos_of_product = pd.Index(P["id"])
        self.F = F = len(gen.institutions)
        self.fam_slices = [np.flatnonzero(P["inst"] == f) for f in range(F)]
        codes = gen._districts["code"].tolist()
        self.district_pos = pd.Index(codes)
        orgs = static["organization"]
        parent = orgs["parent_id"].astype("Int64")
        self.target = np.empty((F, len(codes)), dtype=np.int64)
        for f, inst in enumerate(gen.institutions):
            kids = orgs[parent.eq(inst["id"]).fillna(False).to_numpy(bool) & orgs["is_active"].to_numpy(bool)]
            for j, code in enumerate(codes):
                local = sorted(int(x) for x in kids.loc[kids["district_code"] == code, "id"])
                self.target[f, j] = local[0] if local else inst["id"]
        users = static["user_account"]
        staff = users[users["roles"].str[0].isin(["bank_officer", "guarantee_staff", "insurer_staff"])]
        self.officer_at = staff.groupby("organization_id")["id"].min()
        self.family_officer = np.array([inst["officers"][0] for inst in gen.institutions], dtype=np.int64)
        habits = np.random.default_rng([gen.seed, 3, 10_000])
        self.p_silent = habits.uniform(0.04, 0.2, F)
        self.p_late = habits.uniform(0.05, 0.2, F)
        self.p_decline = habits.uniform(0.3, 0.55, F)
        n_days = cal.last - cal.first + 1
        slow = habits.random(n_days) < 0.15  # days the sweep ran hours late
        self.sweep_lag = np.where(slow, habits.uniform(8, 34, n_days) * 3600,
                                  habits.uniform(60, 600, n_days)).astype(np.int64)

    # ------------------------------------------------------------------------------------ helpers
    def _sweep(self, due: np.ndarray) -> np.ndarray:
        """When the sweep noticed a deadline that passed at ``due``."""
        day = self.cal.local_day(due) + 1 - self.cal.first
        return due + self.sweep_lag[np.clip(day, 0, len(self.sweep_lag) - 1)]

    def _officers(self, targets: np.ndarray, families: np.ndarray) -> np.ndarray:
        at = self.officer_at.reindex(targets).to_numpy(dtype=float)
        return np.where(np.isnan(at), self.family_officer[families], at).astype(np.int64)

    def _response_times(self, rng, t: np.ndarray, f: np.ndarray) -> np.ndarray:
        """When an officer would answer a lead received at ``t`` (inf: never)."""
        n = len(t)
        start = self.cal.clock_start(t)
        late = rng.random(n) < self.p_late[f]
        offset = np.where(late, self.n1 + rng.geometric(0.5, n),
                          np.minimum(rng.choice([0, 1, 2], n, p=[0.5, 0.35, 0.15]), self.n1))
        day = self.cal.day_at(start + offset)
        same_day = day == self.cal.local_day(t)
        lo = np.where(same_day, (t + LOCAL_OFFSET) % DAY + 600, int(8.5 * 3600))
        tod = lo + rng.random(n) * np.maximum(18 * 3600 - lo, 600)
        answer = self.cal.local_time(day, tod.astype(np.int64)).astype(float)
        return np.where(rng.random(n) < self.p_silent[f], np.inf, answer)

    def _batch(self, rng, i, f, t, channel: str, close: np.ndarray) -> dict[str, np.ndarray]:
        """Outcomes of leads (need rows ``i``, families ``f``) received at ``t`` through ``channel``."""
        n = len(i)
        cut = self.gen.cutoff
        due1 = self.cal.deadline(t, self.n1)
        due2 = self.cal.deadline(t, self.n2)
        expiry = self._sweep(due1).astype(float)
        answer = np.asarray(t, dtype=float) if channel == "claim" else self._response_times(rng, t, f)
        declines = (rng.random(n) < self.p_decline[f]) if channel != "claim" else np.zeros(n, bool)
        answers = answer < np.minimum(expiry, cut)
        expired = ~answers & (expiry < cut)
        status = np.where(answers, np.where(declines, "declined", "responded"),
                          np.where(expired, "expired", "pending")).astype(object)
        late_decision = self._sweep(due2).astype(float)
        escalated = np.where(expired, expiry, np.where((status == "responded") & (late_decision < cut),
                                                       late_decision, np.nan))
        return {
            "i": np.asarray(i), "f": np.asarray(f), "t": np.asarray(t, dtype=np.int64), "channel": channel,
            "due1": due1, "due2": due2, "status": status,
            "responded": np.where(answers, answer, np.nan),
            "closed": np.where(answers & declines, answer, np.where(expired, expiry, np.nan)),
            "escalated": escalated, "expiry": expiry,
            "reopen": expired & (expiry < close[i]),  # the need was still open when the lead expired
        }

    # --------------------------------------------------------------------------------------- main
    def add(self, rng: np.random.Generator, frames: dict[str, pd.DataFrame]) -> None:
        """Add ``lead`` to ``frames``, ``dispatch_limit`` to its needs and ``lead_id`` to its applications."""
        needs, app, ent = frames["financing_need"], frames["application"], frames["enterprise"]
        needs["dispatch_limit"] = rng.choice(DISPATCH_LIMITS, len(needs), p=DISPATCH_LIMIT_P)
        app["lead_id"] = pd.array([None] * len(app), dtype="Int64")
        live = np.flatnonzero(needs["status"].to_numpy() != "draft")
        if not len(live):
            frames["lead"] = pd.DataFrame(columns=LEAD_COLUMNS)
            return
        P, F, cut = self.P, self.F, self.gen.cutoff
        nd = needs.iloc[live].reset_index(drop=True)
        m = len(nd)
        K = nd["dispatch_limit"].to_numpy()
        e = pd.Index(ent["id"]).get_indexer(nd["enterprise_id"])
        sec = np.array(["ABCDEFGHIJKLMNOPQRST".index(x) for x in ent["industry_section"].to_numpy()[e]])
        scale = pd.Index(["micro", "small", "medium", "large"]).get_indexer(ent["scale"].to_numpy()[e])
        district = self.district_pos.get_indexer(ent["district_code"].to_numpy()[e])
        amount, term = nd["amount"].to_numpy(np.int64), nd["term_months"].to_numpy()
        cap = nd["max_rate"].to_numpy(float)
        t0 = seconds(nd["published_at"]).astype(np.int64)
        # The application linked to each need (the generator links at most one), and how it came about.
        linked = app["need_id"].notna().to_numpy()
        a_idx = pd.Index(app.loc[linked, "need_id"].astype(np.int64)).get_indexer(nd["id"])
        a_idx = np.where(a_idx >= 0, np.flatnonzero(linked)[np.maximum(a_idx, 0)], -1)
        has_app = a_idx >= 0
        s = np.where(has_app, seconds(app["submitted_at"])[np.maximum(a_idx, 0)], np.inf)
        p_app = self.pos_of_product.get_indexer(app["product_id"].to_numpy()[np.maximum(a_idx, 0)])
        f_app = P["inst"][p_app]
        u = rng.random(m)
        can_lead = has_app & self.lending[p_app]
        mode = np.where(can_lead & (u < MODE_P["lead"]), "lead",
                        np.where(can_lead & (u < MODE_P["lead"] + MODE_P["claim"]), "claim",
                                 np.where(has_app, "direct", "none")))
        created = seconds(nd["created_at"]).astype(float)
        close = np.where(has_app, s, np.where(nd["status"].to_numpy() == "expired",
                                              created + NEED_OPEN_DAYS * DAY, np.inf))
        # Eligible products and each family's best one.
        base = (self.lending[None, :] & (((P["sec"][None, :] >> sec[:, None]) & 1) == 1)
                & (((P["scale"][None, :] >> scale[:, None]) & 1) == 1)
                & (np.isnan(cap)[:, None] | (P["rmin"][None, :] <= np.nan_to_num(cap, nan=99)[:, None])))
        strict = (base & (amount[:, None] >= P["amin"][None, :]) & (amount[:, None] <= P["amax"][None, :])
                  & (term[:, None] >= P["tmin"][None, :]) & (term[:, None] <= P["tmax"][None, :])
                  & (~P["collateral"][None, :] | nd["accepts_collateral"].to_numpy(bool)[:, None]))
        elig = np.where(strict.any(axis=1)[:, None], strict, base)
        score = 0.5 + 0.25 * (1 - np.clip((P["rmin"][None, :] - 3) / 10, 0, 1)) + 0.2 * rng.random(elig.shape)
        score = np.where(elig, score, -np.inf)
        fam_score = np.full((m, F), -np.inf)
        fam_prod = np.zeros((m, F), dtype=np.int64)
        rows = np.arange(m)
        for f, sl in enumerate(self.fam_slices):
            if len(sl):
                best = score[:, sl].argmax(axis=1)
                fam_score[:, f], fam_prod[:, f] = score[rows, sl[best]], sl[best]
        raw_score = fam_score.copy()
        # The applying family: kept out of the dispatch when the application came by claim or directly,
        # placed among the first K (mostly first) when it came through a dispatched lead.
        out = np.flatnonzero(np.isin(mode, ["claim", "direct"]))
        fam_score[out, f_app[out]] = -np.inf
        sel = np.flatnonzero(mode == "lead")
        others = fam_score[sel].copy()
        others[np.arange(len(sel)), f_app[sel]] = -np.inf
        desc = -np.sort(-others, axis=1)
        r = np.minimum(np.minimum(rng.choice([0, 1, 2], len(sel), p=[0.6, 0.28, 0.12]), K[sel] - 1),
                       np.isfinite(others).sum(axis=1))
        upper = desc[np.arange(len(sel)), np.maximum(r - 1, 0)]
        lower = desc[np.arange(len(sel)), np.minimum(r, F - 1)]
        val = np.where(r == 0, np.where(np.isfinite(lower), lower + 0.005, 0.8),
                       np.where(np.isfinite(lower), (upper + lower) / 2, upper - 0.005))
        fam_score[sel, f_app[sel]] = val
        fam_prod[sel, f_app[sel]] = p_app[sel]
        fam_prod[out, f_app[out]] = p_app[out]
        order = np.argsort(-fam_score, axis=1, kind="stable")
        n_elig = np.isfinite(fam_score).sum(axis=1)
        ptr = np.minimum(K, n_elig)

        # Round 0: the dispatch on publication.
        ii, jj = np.nonzero(np.arange(F)[None, :] < ptr[:, None])
        first = self._batch(rng, ii, order[ii, jj], t0[ii], "dispatch", close)
        self._force_applied(rng, first, mode, f_app, s, a_idx)
        declined_early = self._force_declined(rng, first, jj, ptr, mode, s)
        batches = [first]
        # Re-dispatch after each expiry while the need is open, as long as eligible families remain.
        todo = first
        while todo["reopen"].any():
            sel = np.flatnonzero(todo["reopen"])
            sel = sel[np.lexsort((todo["expiry"][sel], todo["i"][sel]))]
            ii = todo["i"][sel]
            pos = ptr[ii] + pd.Series(ii).groupby(ii).cumcount().to_numpy()
            ok = pos < n_elig[ii]
            np.add.at(ptr, ii[ok], 1)
            if not ok.any():
                break
            todo = self._batch(rng, ii[ok], order[ii[ok], pos[ok]], todo["expiry"][sel][ok].astype(np.int64),
                               "redispatch", close)
            batches.append(todo)
        # Claims: the applying family of claim-mode needs, and other families on some open needs.
        batches += self._claims(rng, batches, declined_early, mode, f_app, s, a_idx, ptr, n_elig, order, close, cut)
        frames["lead"] = self._frame(batches, nd, fam_prod, raw_score, district, a_idx, app)

    def _force_applied(self, rng, b, mode, f_app, s, a_idx) -> None:
        """The applying family's dispatched lead: answered in time before the submission, then ``applied``."""
        hit = np.flatnonzero((mode[b["i"]] == "lead") & (b["f"] == f_app[b["i"]]))
        i, t = b["i"][hit], b["t"][hit]
        sub = s[i]
        ans = b["responded"][hit]
        fine = np.isfinite(ans) & (ans < sub - 600) & (ans <= b["due1"][hit])
        alt = t + (np.minimum(sub, b["due1"][hit]) - t) * rng.uniform(0.15, 0.7, len(hit))
        b["responded"][hit] = np.where(fine, ans, np.maximum(alt, t + 600))
        b["status"][hit] = "applied"
        b["closed"][hit] = sub
        late = self._sweep(b["due2"][hit]).astype(float)
        b["escalated"][hit] = np.where(late < sub, late, np.nan)
        b["reopen"][hit] = False
        b["app_row"] = np.full(len(b["i"]), -1)
        b["app_row"][hit] = a_idx[i]

    def _force_declined(self, rng, b, jj, ptr, mode, s) -> np.ndarray:
        """Claim-mode needs: the last dispatched lead declined early, freeing the place the claim takes.

        Returns the decline time per need row (NaN where none was forced)."""
        hit = np.flatnonzero((mode[b["i"]] == "claim") & (jj == ptr[b["i"]] - 1))
        i, t = b["i"][hit], b["t"][hit]
        when = (t + (np.minimum(s[i], b["due1"][hit]) - t) * rng.uniform(0.05, 0.3, len(hit))).astype(float)
        b["status"][hit] = "declined"
        b["responded"][hit] = when
        b["closed"][hit] = when
        b["escalated"][hit] = np.nan
        b["reopen"][hit] = False
        out = np.full(len(mode), np.nan)
        out[i] = when
        return out

    def _claims(self, rng, batches, declined_early, mode, f_app, s, a_idx, ptr, n_elig, order, close, cut) -> list[dict]:
        out = []
        # The applying family claims claim-mode needs between the freed place and the submission.
        sel = np.flatnonzero(mode == "claim")
        start = np.where(np.isnan(declined_early[sel]), 0.0, declined_early[sel])
        t_claim = np.where(np.isnan(declined_early[sel]), s[sel] - (rng.uniform(0.1, 0.4, len(sel)) * DAY),
                           start + (s[sel] - start) * rng.uniform(0.2, 0.8, len(sel))).astype(np.int64)
        b = self._batch(rng, sel, f_app[sel], t_claim, "claim", close)
        b["status"][:] = "applied"
        b["closed"][:] = s[sel]
        late = self._sweep(b["due2"]).astype(float)
        b["escalated"] = np.where(late < s[sel], late, np.nan)
        b["reopen"][:] = False
        b["app_row"] = a_idx[sel]
        out.append(b)
        # Other open needs: after a decline, the next eligible family sometimes claims the place.
        frame = pd.concat([pd.DataFrame({"i": x["i"], "closed": x["closed"]})[x["status"] == "declined"]
                           for x in batches], ignore_index=True)
        if not frame.empty:
            first_decline = frame.groupby("i")["closed"].min()
            i = first_decline.index.to_numpy()
            when = first_decline.to_numpy() + rng.uniform(3600, 3 * DAY, len(i))
            ok = ((mode[i] == "none") & (ptr[i] < n_elig[i]) & (when < np.minimum(close[i], cut))
                  & (rng.random(len(i)) < CLAIM_P))
            i, when = i[ok], when[ok].astype(np.int64)
            fam = order[i, ptr[i]]
            ptr[i] += 1
            out.append(self._batch(rng, i, fam, when, "claim", close))
        return out

    def _frame(self, batches, nd, fam_prod, raw_score, district, a_idx, app) -> pd.DataFrame:
        rng_notes = np.random.default_rng([self.gen.seed, 3, 20_000, int(nd["id"].iloc[0])])
        for b in batches:
            b["channel_of"] = np.full(len(b["i"]), b["channel"], dtype=object)
        cols = {k: np.concatenate([np.asarray(b[k]) for b in batches])
                for k in ("i", "f", "t", "channel_of", "due1", "due2", "status", "responded", "closed", "escalated")}
        app_row = np.concatenate([b.get("app_row", np.full(len(b["i"]), -1)) for b in batches])
        i, f = cols["i"].astype(np.int64), cols["f"].astype(np.int64)
        n = len(i)
        order = np.lexsort((np.arange(n), cols["t"], i))
        i, f, app_row = i[order], f[order], app_row[order]
        cols = {k: v[order] for k, v in cols.items()}
        ids = self.gen._ids("lead", n)
        target = self.target[f, district[i]]
        status = cols["status"].astype(object)
        responded = cols["responded"].astype(float)
        officer = np.where(np.isnan(responded), 0, self._officers(target, f))
        app_officer = app["officer_id"].to_numpy(dtype=float, na_value=np.nan)[np.maximum(app_row, 0)]
        officer = np.where((app_row >= 0) & ~np.isnan(app_officer), app_officer, officer).astype(np.int64)
        declined = status == "declined"
        notes = np.where(declined, np.array(DECLINE_NOTES, dtype=object)[rng_notes.integers(0, len(DECLINE_NOTES), n)],
                         np.where(~np.isnan(responded) & (rng_notes.random(n) < 0.6),
                                  np.array(CONTACT_NOTES, dtype=object)[rng_notes.integers(0, len(CONTACT_NOTES), n)],
                                  None))
        score = raw_score[i, f]
        frame = pd.DataFrame({
            "id": ids, "need_id": nd["id"].to_numpy()[i], "institution_id": target,
            "product_id": self.P["id"][fam_prod[i, f]], "channel": cols["channel_of"],
            "rank": pd.Series(i).groupby(i).cumcount().to_numpy() + 1,
            "fit_score": np.round(np.where(np.isfinite(score), score, 0.6), 4), "status": status,
            "officer_id": pd.array(officer, dtype="Int64"),
            "dispatched_at": timestamps(cols["t"]), "first_response_due": timestamps(cols["due1"]),
            "decision_due": timestamps(cols["due2"]), "responded_at": timestamps(responded),
            "response_note": notes, "closed_at": timestamps(cols["closed"].astype(float)),
            "escalated_at": timestamps(cols["escalated"].astype(float)), "version": 1,
        }, columns=LEAD_COLUMNS)
        frame["officer_id"] = frame["officer_id"].mask(frame["officer_id"] == 0)
        linked = app_row >= 0
        app.loc[app.index[app_row[linked]], "lead_id"] = ids[linked]
        return frame
