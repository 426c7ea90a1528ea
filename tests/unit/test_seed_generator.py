"""The demo-data generator: deterministic, internally consistent, and with defaults caused by data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.auth.permissions import PERSON_ROLES
from core.models.types import ApplicationStatus
from core.reference import districts
from core.seed import generate
from core.seed.generator import DEFAULT_AS_OF, WINDOW_MONTHS
from core.validators import is_valid_credit_code

DEFAULTED = ["defaulted", "written_off"]


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return generate("demo", 42)


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate("small", 42)


def test_same_scale_and_seed_give_identical_frames():
    first, second = generate("small", 7), generate("small", 7)
    assert first.keys() == second.keys()
    for table in first:
        pd.testing.assert_frame_equal(first[table], second[table], obj=table)


def test_a_different_seed_gives_different_data():
    a, b = generate("small", 1), generate("small", 2)
    assert not a["enterprise"]["name"].equals(b["enterprise"]["name"])
    assert not a["gov_record"]["value"].head(500).equals(b["gov_record"]["value"].head(500))


def test_n_enterprises_override_is_honoured():
    frames = generate("small", 3, n_enterprises=40)
    assert len(frames["enterprise"]) == 40


@pytest.mark.parametrize("size", ["small", "demo"])
def test_every_application_status_is_present(size, small, demo):
    frames = small if size == "small" else demo
    assert set(frames["application"]["status"]) == {s.value for s in ApplicationStatus}


def test_every_person_role_has_a_demo_user(small):
    users = small["user_account"]
    roles = {r for rs in users["roles"] for r in rs}
    assert roles == {r.value for r in PERSON_ROLES}
    assert users["subject"].is_unique
    assert users["subject"].str.fullmatch(r"demo-[a-z_]+-\d+").all()


def test_enterprise_users_belong_to_an_organization_linked_to_their_enterprise(small):
    orgs = small["organization"].set_index("id")
    users = small["user_account"]
    ent_users = users[users["roles"].str[0].isin(["enterprise_admin", "enterprise_user"])]
    linked = orgs.loc[ent_users["organization_id"], "enterprise_id"]
    assert linked.notna().all()
    assert set(linked.astype(int)) <= set(small["enterprise"]["id"])


def test_institutions_banks_and_branches(demo):
    orgs = demo["organization"]
    heads = orgs[orgs["parent_id"].isna() & orgs["kind"].isin(["bank", "guarantee", "insurer", "leasing"])]
    assert len(heads) == 20
    assert (heads["kind"] == "bank").sum() >= 12
    branches = orgs[orgs["parent_id"].notna()]
    per_bank = branches.groupby("parent_id").size()
    bank_ids = heads.loc[heads["kind"] == "bank", "id"]
    assert set(per_bank.index) == set(bank_ids)
    assert per_bank.between(1, 4).all()
    assert {"衡水市地方金融监督管理局", "中国人民银行衡水市中心支行", "衡水银行"} <= set(orgs["name"])


def test_credit_codes_are_valid_unique_and_carry_the_district(demo):
    ent = demo["enterprise"]
    assert ent["credit_code"].is_unique
    assert ent["credit_code"].map(is_valid_credit_code).all()
    assert (ent["credit_code"].str[2:8] == ent["district_code"]).all()
    assert set(ent["district_code"]) <= set(districts()["code"])


def test_scale_follows_the_miit_thresholds_for_industry(demo):
    ent = demo["enterprise"]
    fs = demo["financial_statement"]
    industrial = ent[ent["industry_division"].astype(int).between(6, 46)]
    micro = industrial[industrial["scale"] == "micro"]
    medium = industrial[industrial["scale"] == "medium"]
    # A medium industrial enterprise has at least 300 employees; a small one at least 20.
    assert (medium["employees"] >= 300).all()
    assert (industrial.loc[industrial["scale"] == "small", "employees"] >= 20).all()
    assert len(micro) > 0 and len(fs) > 0


def test_installment_principal_sums_to_the_loan_amount_to_the_cent(demo):
    inst = demo["repayment_installment"]
    loans = demo["loan"].set_index("id")
    sums = inst.groupby("loan_id")["principal_due"].sum()
    assert (sums == loans.loc[sums.index, "amount"]).all()
    counts = inst.groupby("loan_id").size()
    assert (counts == loans.loc[counts.index, "term_months"]).all()
    assert (inst["principal_due"] >= 0).all() and (inst["interest_due"] >= 0).all()


def test_payments_never_lie_after_as_of(demo):
    inst = demo["repayment_installment"]
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    assert (inst["paid_on"].dropna() <= as_of).all()
    assert (inst.loc[inst["due_date"] > as_of, "status"] == "scheduled").all()
    assert (inst.loc[inst["status"] == "overdue", "days_past_due"] > 0).all()


def test_shareholdings_per_company_never_exceed_100_percent(demo):
    sh = demo["shareholding"]
    current = sh[sh["until"].isna()]
    assert current.groupby("enterprise_id")["share_pct"].sum().max() <= 100.0 + 1e-9
    assert (sh["share_pct"] > 0).all()


def _holding_graph(sh: pd.DataFrame) -> dict[int, set[int]]:
    edges: dict[int, set[int]] = {}
    for holder, held in sh.loc[sh["holder_type"] == "enterprise", ["holder_enterprise_id", "enterprise_id"]].itertuples(index=False):
        edges.setdefault(int(holder), set()).add(int(held))
    return edges


def test_holding_chains_are_deep_and_some_are_circular(demo):
    edges = _holding_graph(demo["shareholding"])

    def depth(node: int, seen: frozenset) -> int:
        return 1 + max((depth(n, seen | {n}) for n in edges.get(node, ()) if n not in seen), default=0)

    assert max(depth(n, frozenset({n})) for n in edges) >= 4  # 3 holding links, 4 companies
    cycles = sum(1 for a, outs in edges.items() for b in outs if a in _reachable(edges, b))
    assert cycles >= 3


def _reachable(edges: dict[int, set[int]], start: int) -> set[int]:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def test_default_rate_is_between_3_and_6_percent(demo):
    rate = demo["loan"]["status"].isin(DEFAULTED).mean()
    assert 0.03 <= rate <= 0.06, rate


def test_defaulted_borrowers_are_overwhelmingly_distressed(demo):
    loans = demo["loan"]
    truth = demo["_truth"].set_index("enterprise_id")
    distressed = loans["enterprise_id"].map(truth["distressed"])
    bad = loans["status"].isin(DEFAULTED)
    assert distressed[bad].mean() >= 0.7
    assert distressed[bad].mean() >= 5 * distressed[~bad].mean()
    assert distressed[bad].mean() < 1.0  # a few surprises


def _falling(gov: pd.DataFrame, kind: str, ent_ids: pd.Series, ref: pd.Series) -> pd.Series:
    """Did the series fall: mean of the 6 months before ``ref`` below 80% of the 6 months before that?"""
    series = gov[gov["kind"] == kind][["enterprise_id", "period", "value"]]
    merged = series.merge(pd.DataFrame({"enterprise_id": ent_ids.to_numpy(), "ref": ref.to_numpy()}), on="enterprise_id")
    months_before = (merged["ref"].dt.year - merged["period"].dt.year) * 12 + (merged["ref"].dt.month - merged["period"].dt.month)
    recent = merged[months_before.between(1, 6)].groupby("enterprise_id")["value"].mean()
    earlier = merged[months_before.between(7, 12)].groupby("enterprise_id")["value"].mean()
    both = pd.concat([recent, earlier], axis=1, keys=["recent", "earlier"]).dropna()
    return (both["recent"] < 0.8 * both["earlier"]).reindex(ent_ids.unique(), fill_value=False)


def test_defaulted_borrowers_show_falling_electricity_or_tax_before_trouble(demo):
    loans = demo["loan"]
    gov = demo["gov_record"]
    bad = loans[loans["status"].isin(DEFAULTED)]
    # Trouble begins 90 days before default: measure the months leading up to it.
    bad_ref = bad["defaulted_at"].dt.tz_localize(None) - pd.Timedelta(days=90)
    good = loans[~loans["enterprise_id"].isin(bad["enterprise_id"]) & (loans["status"] != "overdue")]
    good = good.drop_duplicates("enterprise_id")
    good_ref = pd.Series(pd.Timestamp(DEFAULT_AS_OF), index=good.index)
    share = {}
    for name, frame, ref in (("bad", bad, bad_ref), ("good", good, good_ref)):
        elec = _falling(gov, "electricity_kwh", frame["enterprise_id"], ref)
        tax = _falling(gov, "tax_paid", frame["enterprise_id"], ref)
        share[name] = (elec | tax).mean()
    assert share["bad"] >= 0.5, share
    assert share["bad"] >= 4 * share["good"], share


def test_warning_events_precede_defaults(demo):
    loans = demo["loan"]
    gov = demo["gov_record"]
    events = gov[gov["kind"].isin(["si_arrears", "judicial_case", "tax_arrears", "hf_arrears", "utility_arrears"])]
    bad = loans[loans["status"].isin(DEFAULTED)][["enterprise_id", "defaulted_at"]]
    merged = events.merge(bad, on="enterprise_id")
    before = merged[merged["period"] < merged["defaulted_at"].dt.tz_localize(None)]
    assert before["enterprise_id"].nunique() >= 0.6 * bad["enterprise_id"].nunique()


def test_loans_follow_the_calendar(demo):
    loans = demo["loan"]
    start = pd.Timestamp(date(2023, 11, 1), tz="UTC")
    end = pd.Timestamp(DEFAULT_AS_OF, tz="UTC") + pd.Timedelta(days=1)
    assert loans["disbursed_at"].between(start, end).all()
    d = loans.dropna(subset=["defaulted_at"])
    assert (d["defaulted_at"] > d["disbursed_at"]).all() and (d["defaulted_at"] < end).all()
    assert (loans.loc[loans["status"] == "settled", "outstanding_principal"] == 0).all()
    periods = demo["gov_record"].query("kind == 'electricity_kwh'")["period"]
    assert periods.nunique() == WINDOW_MONTHS and periods.max() == pd.Timestamp("2026-10-01")


def test_application_events_form_a_trail_to_the_current_status(small):
    app = small["application"].set_index("id")
    ev = small["application_event"].sort_values(["application_id", "occurred_at", "id"])
    last = ev.groupby("application_id").tail(1).set_index("application_id")
    assert (last["to_status"] == app.loc[last.index, "status"]).all()
    first = ev.groupby("application_id").head(1)
    assert (first["to_status"] == "submitted").all() and first["from_status"].isna().all()
    prev = ev.groupby("application_id")["to_status"].shift()
    assert (prev.dropna() == ev.loc[prev.notna(), "from_status"]).all()


def test_first_loans_and_has_had_loan_agree_with_the_loans(demo):
    loans = demo["loan"].sort_values(["enterprise_id", "disbursed_at"])
    ent = demo["enterprise"].set_index("id")
    assert ent.loc[loans["enterprise_id"].unique(), "has_had_loan"].all()
    assert loans.groupby("enterprise_id")["is_first_loan"].sum().max() == 1
    firsts = loans[loans["is_first_loan"]]
    earliest = loans.groupby("enterprise_id")["disbursed_at"].min()
    assert (firsts["disbursed_at"].to_numpy() == earliest.loc[firsts["enterprise_id"]].to_numpy()).all()
    assert 0.15 <= loans["is_first_loan"].mean() <= 0.6


def test_products_are_plentiful_and_realistic(demo):
    products = demo["product"]
    published = products[products["status"] == "published"]
    assert len(published) >= 100
    assert {"draft", "withdrawn"} <= set(products["status"])
    assert published["rate_min"].ge(3).all() and published["rate_max"].le(15).all()
    assert (products["amount_min"] <= products["amount_max"]).all()
    assert products["first_loan_friendly"].any() and products["code"].is_unique
    assert np.all([len(m) >= 1 for m in products["repayment_methods"]])


def test_open_applications_carry_the_consent_they_imply(small):
    from core.services.consent import CLOSED_APPLICATION, SCOPES

    apps, grants = small["application"], small["consent_grant"]
    open_apps = apps[~apps["status"].isin([s.value for s in CLOSED_APPLICATION])]
    assert len(grants) == len(open_apps) > 0
    assert set(grants["application_id"]) == set(open_apps["id"])
    assert all(tuple(s) == SCOPES for s in grants["scopes"])
    merged = grants.merge(apps, left_on="application_id", right_on="id", suffixes=("", "_app"))
    assert (merged["institution_id"] == merged["institution_id_app"]).all()
    assert (merged["expires_at"] > merged["granted_at"]).all()


@pytest.mark.slow
@pytest.mark.parametrize("as_of", [date(2027, 1, 1), date(2028, 2, 29), date(2026, 11, 22)])
def test_any_as_of_day_gives_a_consistent_data_set(as_of):
    """`make run` seeds with today's date: the generator must hold on any day (year start, leap day, mid-month)."""
    frames = generate("small", 7, as_of=as_of)
    inst, loans = frames["repayment_installment"], frames["loan"].set_index("id")
    assert len(loans) > 0 and len(frames["lead"]) > 0
    sums = inst.groupby("loan_id")["principal_due"].sum()
    assert (sums == loans.loc[sums.index, "amount"]).all()
    day = pd.Timestamp(as_of)
    assert (inst["paid_on"].dropna() <= day).all()
    assert (inst.loc[inst["due_date"] > day, "status"] == "scheduled").all()
    assert (pd.to_datetime(frames["application"]["submitted_at"], utc=True).dt.tz_convert(None)
            < day + pd.Timedelta(days=1)).all()
