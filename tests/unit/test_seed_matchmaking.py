"""The demo generator's leads and hall appointments: routed, clocked, consistent and funnel-shaped."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pandas as pd
import pytest

from core.lending.workdays import SHANGHAI, is_working_day, sla_deadline
from core.seed import DEFAULT_AS_OF, generate
from core.seed.workcal import WorkCalendar
from core.services.first_loan import BOOKING_DAYS, SLOT_STARTS, windows
from core.services.need_dispatch import decision_days, first_response_days

CUTOFF = pd.Timestamp(datetime.combine(DEFAULT_AS_OF, time(0)), tz="UTC") + pd.Timedelta(days=1)
STAGES = ["visit", "guidance", "application", "first_loan", "repeat_loan"]


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return generate("demo", 42)


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate("small", 42)


def _family(orgs: pd.DataFrame) -> pd.Series:
    parent = orgs.set_index("id")["parent_id"]
    return pd.Series([int(p) if pd.notna(p) else int(i) for i, p in parent.items()], index=parent.index)


def _leads(frames) -> pd.DataFrame:
    """Leads with the need's enterprise district and the lead's institution family (head office)."""
    leads, needs, ents = frames["lead"], frames["financing_need"], frames["enterprise"]
    out = leads.merge(needs[["id", "enterprise_id", "dispatch_limit"]].rename(columns={"id": "need_id"}), on="need_id")
    out = out.merge(ents[["id", "district_code"]].rename(columns={"id": "enterprise_id"}), on="enterprise_id")
    out["family"] = out["institution_id"].map(_family(frames["organization"]))
    return out


def test_a_different_seed_gives_different_leads_and_appointments():
    a, b = generate("small", 1), generate("small", 2)
    assert not a["lead"]["institution_id"].equals(b["lead"]["institution_id"])
    assert not a["appointment"]["slot_start"].equals(b["appointment"]["slot_start"])


def test_only_published_needs_are_dispatched_each_family_once_and_at_most_k_at_first(demo):
    leads = _leads(demo)
    needs = demo["financing_need"].set_index("id")
    assert set(needs.loc[leads["need_id"].unique(), "status"]) <= {"published", "matched", "closed", "expired"}
    assert not leads.duplicated(["need_id", "family"]).any()
    first = leads[leads["channel"] == "dispatch"].groupby("need_id").size()
    assert (first <= needs.loc[first.index, "dispatch_limit"]).all()
    assert needs["dispatch_limit"].between(1, 10).all()
    ranks = leads.sort_values(["need_id", "dispatched_at", "rank"]).groupby("need_id")["rank"]
    assert (ranks.apply(lambda r: list(r) == list(range(1, len(r) + 1)))).all()


def test_leads_go_to_the_familys_branch_in_the_enterprises_district_else_its_head_office(demo):
    leads = _leads(demo)
    orgs = demo["organization"]
    branches = orgs[orgs["parent_id"].notna()]
    local = branches.groupby(["parent_id", "district_code"])["id"].min()
    expected = [local.get((fam, dist), fam) for fam, dist in zip(leads["family"], leads["district_code"], strict=True)]
    assert (leads["institution_id"].to_numpy() == np.array(expected)).all()
    assert (leads["institution_id"] != leads["family"]).any()  # some reached a branch
    heads = orgs.set_index("id")
    assert set(heads.loc[leads["family"].unique(), "kind"]) <= {"bank", "leasing"}  # lending institutions only


def test_lead_products_belong_to_the_lead_family_and_lend(demo):
    leads = _leads(demo)
    products = demo["product"].set_index("id")
    assert (products.loc[leads["product_id"], "institution_id"].to_numpy() == leads["family"].to_numpy()).all()
    assert not products.loc[leads["product_id"], "product_type"].isin(["insurance", "guarantee_service"]).any()


def test_deadlines_are_the_working_day_sla_clock(demo):
    leads = demo["lead"]
    assert (leads["first_response_due"] > leads["dispatched_at"]).all()
    assert (leads["decision_due"] > leads["first_response_due"]).all()
    sample = leads.sample(300, random_state=1)
    for row in sample.itertuples():
        start = row.dispatched_at.to_pydatetime()
        assert row.first_response_due == sla_deadline(start, first_response_days())
        assert row.decision_due == sla_deadline(start, decision_days())


def test_the_generator_reads_the_sla_clocks_the_dispatch_uses(monkeypatch):
    from types import SimpleNamespace

    from core.seed import leads
    from core.services import need_dispatch

    assert leads.sla_days() == (first_response_days(), decision_days())
    configured = SimpleNamespace(lead_first_response_days=3, lead_decision_days=7)
    for module in (leads, need_dispatch):
        monkeypatch.setattr(module, "get_settings", lambda: configured)
    assert leads.sla_days() == (first_response_days(), decision_days()) == (3, 7)


def test_the_calendar_agrees_with_sla_deadline_around_holidays():
    cal = WorkCalendar(datetime(2025, 9, 1).date(), datetime(2025, 12, 31).date())
    # Before and after 17:00 on the eve of the National Day week, on a make-up Saturday, on a holiday.
    moments = [datetime(2025, 9, 30, 16, 59, tzinfo=SHANGHAI), datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI),
               datetime(2025, 9, 28, 10, 0, tzinfo=SHANGHAI), datetime(2025, 10, 3, 9, 0, tzinfo=SHANGHAI),
               datetime(2025, 10, 11, 9, 0, tzinfo=SHANGHAI), datetime(2025, 11, 3, 23, 30, tzinfo=SHANGHAI)]
    secs = np.array([int(m.timestamp()) for m in moments])
    for n in (1, 2, 5):
        got = cal.deadline(secs, n)
        assert list(got) == [int(sla_deadline(m, n).timestamp()) for m in moments]


def test_lead_outcomes_mix_and_their_times_hold_together(demo):
    leads = demo["lead"]
    assert set(leads["status"]) == {"pending", "responded", "applied", "declined", "expired"}
    assert set(leads["channel"]) == {"dispatch", "redispatch", "claim"}
    answered = leads["responded_at"].notna()
    claimed = leads["channel"] == "claim"  # a claim is its own first response
    assert (leads.loc[answered & ~claimed, "responded_at"] > leads.loc[answered & ~claimed, "dispatched_at"]).all()
    assert (leads.loc[claimed, "responded_at"] == leads.loc[claimed, "dispatched_at"]).all()
    late = leads["responded_at"] > leads["first_response_due"]
    assert 0 < late.sum() < 0.05 * len(leads)  # late answers exist only when the sweep ran late
    expired = leads[leads["status"] == "expired"]
    assert expired["responded_at"].isna().all()
    assert (expired["closed_at"] == expired["escalated_at"]).all()
    assert (expired["closed_at"] > expired["first_response_due"]).all()
    declined = leads[leads["status"] == "declined"]
    assert declined["response_note"].notna().all() and (declined["closed_at"] == declined["responded_at"]).all()
    pending = leads[leads["status"] == "pending"]
    assert pending["responded_at"].isna().all() and pending["closed_at"].isna().all()
    for column in ("dispatched_at", "responded_at", "closed_at", "escalated_at"):
        assert (leads[column].dropna() < CUTOFF).all(), column
    assert leads.loc[answered, "officer_id"].notna().all() and leads.loc[~answered, "officer_id"].isna().all()
    # Re-dispatches start when an earlier lead of the same need expired.
    redispatch = leads[leads["channel"] == "redispatch"]
    expiries = set(zip(expired["need_id"], expired["closed_at"], strict=True))
    assert all((n, t) in expiries for n, t in zip(redispatch["need_id"], redispatch["dispatched_at"], strict=True))


def test_applications_that_came_through_a_lead_point_to_it(demo):
    apps, leads = demo["application"], _leads(demo).set_index("id")
    via = apps[apps["lead_id"].notna()]
    assert len(via) > 0.4 * apps["need_id"].notna().sum()
    assert (apps.loc[apps["lead_id"].notna(), "need_id"].notna()).all()
    lead = leads.loc[via["lead_id"].astype(int)]
    assert (lead["need_id"].to_numpy() == via["need_id"].to_numpy()).all()
    assert (lead["family"].to_numpy() == via["institution_id"].to_numpy()).all()
    assert (lead["status"] == "applied").all() and len(lead) == (leads["status"] == "applied").sum()
    assert (lead["responded_at"].to_numpy() < via["submitted_at"].to_numpy()).all()
    assert (lead["closed_at"].to_numpy() == via["submitted_at"].to_numpy()).all()
    assert via["lead_id"].is_unique


def test_appointments_use_configured_windows_working_day_slots_and_never_double_book(demo):
    appts = demo["appointment"]
    assert appts["window_no"].between(1, windows()).all() and appts["window_no"].nunique() > 10
    local = appts["slot_start"].dt.tz_convert(SHANGHAI)
    assert set(local.dt.time) <= set(SLOT_STARTS)
    assert all(is_working_day(d) for d in local.dt.date.unique())
    assert not appts.duplicated(["window_no", "slot_start"]).any()
    assert set(appts["status"]) == {"attended", "no_show", "cancelled", "booked"}
    coming = appts.loc[appts["status"] == "booked", "slot_start"]
    assert (coming >= CUTOFF).all() and (coming < CUTOFF + pd.Timedelta(days=BOOKING_DAYS)).all()
    assert (appts.loc[appts["status"] != "booked", "slot_start"] < CUTOFF).all()
    attended = appts["status"] == "attended"
    assert appts["attended_at"].notna().eq(attended).all()
    assert (appts.loc[attended, "attended_at"] >= appts.loc[attended, "slot_start"]).all()
    assert (appts["created_at"] < appts["slot_start"]).all() and (appts["created_at"] < CUTOFF).all()
    assert appts["idempotency_key"].is_unique


def test_only_first_time_borrowers_visit_the_hall(demo):
    ents, loans = demo["enterprise"].set_index("id"), demo["loan"]
    first = set(loans.loc[loans["is_first_loan"], "enterprise_id"])
    visitors = demo["appointment"]["enterprise_id"].unique()
    assert all(not ents.at[e, "has_had_loan"] or e in first for e in visitors)


def test_demo_enterprises_that_are_first_time_borrowers_have_a_coming_booking(small):
    orgs, appts = small["organization"], small["appointment"]
    demo_ents = set(orgs["enterprise_id"].dropna().astype(int))
    ents = small["enterprise"].set_index("id")
    first_loans = set(small["loan"].loc[small["loan"]["is_first_loan"], "enterprise_id"])
    without_loan = {e for e in demo_ents if not ents.at[e, "has_had_loan"] and e not in first_loans}
    booked = set(appts.loc[appts["status"] == "booked", "enterprise_id"])
    assert without_loan and without_loan <= booked


def _funnel(frames) -> pd.DataFrame:
    """The funnel rules of ``core.services.first_loan`` over frames: one row per visiting enterprise."""
    appts, apps, loans = frames["appointment"], frames["application"], frames["loan"]
    visits = appts[appts["status"] == "attended"].sort_values("slot_start")
    cohort = visits.groupby("enterprise_id").agg(first=("slot_start", "first"), window=("window_no", "first"),
                                                 guidance=("guidance_note", lambda g: g.notna().any()))
    cohort["visit"] = True
    a = apps.join(cohort["first"], on="enterprise_id", how="inner")
    a = a[a["submitted_at"] >= a["first"]].sort_values("submitted_at").groupby("enterprise_id").first()
    cohort["application"] = cohort.index.isin(a.index)
    cohort["institution"] = a["institution_id"].reindex(cohort.index)
    lo = loans.join(cohort["first"], on="enterprise_id", how="inner")
    firsts = lo[lo["is_first_loan"] & (lo["disbursed_at"] >= lo["first"])].groupby("enterprise_id")["disbursed_at"].min()
    cohort["first_loan"] = cohort.index.isin(firsts.index)
    later = lo.join(firsts.rename("first_at"), on="enterprise_id", how="inner")
    cohort["repeat_loan"] = cohort.index.isin(later.loc[later["disbursed_at"] > later["first_at"], "enterprise_id"])
    return cohort


@pytest.mark.parametrize("size", ["small", "demo"])
def test_the_first_loan_funnel_narrows_at_every_step_in_total_per_window_and_per_institution(size, small, demo):
    cohort = _funnel(small if size == "small" else demo)
    totals = cohort[STAGES].sum()
    assert totals["repeat_loan"] > 0 or size == "small"
    assert totals["first_loan"] > 0
    assert list(totals) == sorted(totals, reverse=True) and totals["visit"] > totals["first_loan"]
    for key in ("window", "institution"):
        groups = cohort.groupby(key, dropna=False)[STAGES].sum()
        assert (groups.diff(axis=1).iloc[:, 1:] <= 0).all().all(), key
    assert cohort.loc[cohort["application"], "guidance"].all()
