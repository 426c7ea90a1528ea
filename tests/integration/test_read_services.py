"""Read services (directory, products, applications): row-level refusals, eligibility explanations, counts.

Most tests run on both databases (the ``db`` fixture) with the few rows they need; a few read the
seeded demo database to prove the services hold up on realistic data.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from core.auth import Role
from core.db import get_engine
from core.errors import ForbiddenError, NotFoundError
from core.models import FinancialStatement, GovRecord
from core.models.types import ApplicationStatus, GovSource, ProductStatus, Scale
from core.services import applications, directory, product_eligibility, products
from tests import factories as f


@pytest.fixture
def world(db):
    """Two banks (one with a branch), two enterprises, products and applications, plus their users."""
    with Session(get_engine()) as s:
        bank = f.institution(s, name="甲银行")
        branch = f.institution(s, name="甲银行桃城支行", parent_id=bank.id)
        other_bank = f.institution(s, name="乙银行")
        regulator = f.institution(s, kind="regulator", name="金融监管局")
        ent = f.enterprise(
            s,
            district_code="131102",
            industry_section="C",
            scale=Scale.small,
            founded_on=date(2015, 1, 1),
            has_had_loan=True,
        )
        newcomer = f.enterprise(
            s, district_code="131121", industry_section="A", scale=Scale.micro, founded_on=date(2025, 1, 1)
        )
        ent_org = f.institution(s, kind="enterprise", name=ent.name, enterprise_id=ent.id)
        open_to_all = f.product(s, bank.id, name="普惠贷", first_loan_friendly=True)
        narrow = f.product(
            s,
            other_bank.id,
            name="老客贷",
            eligible_districts=["131102"],
            eligible_industries=["C"],
            eligible_scales=["small", "medium"],
            min_years_in_business=3,
        )
        f.product(s, bank.id, name="草稿贷", status=ProductStatus.draft)
        statuses = [ApplicationStatus.submitted, ApplicationStatus.submitted, ApplicationStatus.approved]
        for status in statuses:
            f.application(s, ent, open_to_all, status=status)
        f.application(s, ent, open_to_all, status=ApplicationStatus.rejected, institution_id=branch.id)
        f.application(s, newcomer, narrow, status=ApplicationStatus.submitted)
        s.add(
            FinancialStatement(
                enterprise_id=ent.id,
                year=2024,
                revenue=Decimal("5000000"),
                net_profit=Decimal("1"),
                total_assets=Decimal("8000000"),
                total_liabilities=Decimal("2000000"),
                current_assets=Decimal("1"),
                current_liabilities=Decimal("1"),
                operating_cash_flow=Decimal("1"),
            )
        )
        for month in range(1, 15):
            period = date(2025 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
            s.add(
                GovRecord(
                    enterprise_id=ent.id,
                    source=GovSource.tax,
                    kind="tax_paid",
                    period=period,
                    value=100.0 * month,
                )
            )
        officer = f.user(s, bank, [Role.bank_officer])
        ent_user = f.user(s, ent_org, [Role.enterprise_admin])
        s.commit()
        ids = {
            "bank": bank.id,
            "branch": branch.id,
            "other_bank": other_bank.id,
            "regulator": regulator.id,
            "ent": ent.id,
            "newcomer": newcomer.id,
            "open_to_all": open_to_all.id,
            "narrow": narrow.id,
            "officer_user": officer.id,
            "ent_user": ent_user.id,
        }
    ids["ent_actor"] = f.actor(Role.enterprise_admin, organization_id=0, enterprise_id=ids["ent"], user_id=1)
    ids["newcomer_actor"] = f.actor(Role.enterprise_user, enterprise_id=ids["newcomer"], user_id=2)
    ids["officer"] = f.actor(Role.bank_officer, organization_id=ids["bank"], user_id=3)
    ids["branch_officer"] = f.actor(Role.bank_officer, organization_id=ids["branch"], user_id=4)
    ids["other_officer"] = f.actor(Role.bank_manager, organization_id=ids["other_bank"], user_id=5)
    ids["regulator_actor"] = f.actor(Role.regulator_analyst, organization_id=ids["regulator"], user_id=6)
    return ids


# -- directory ------------------------------------------------------------------------------------


def test_enterprise_reads_its_own_profile_with_latest_statement_and_12_month_series(world):
    profile = directory.enterprise_profile(actor=world["ent_actor"], enterprise_id=world["ent"])
    assert profile.id == world["ent"]
    assert profile.district_name == "桃城区" and profile.district_name_en == "Taocheng District"
    assert profile.latest_statement is not None and profile.latest_statement.year == 2024
    assert profile.latest_statement.debt_ratio_pct == pytest.approx(25.0)
    assert len(profile.series) == 12
    assert profile.series["tax_paid"].iloc[-1] == pytest.approx(1400.0)
    assert profile.series["electricity_kwh"].isna().all()


def test_enterprise_actor_cannot_read_another_enterprise(world):
    with pytest.raises(ForbiddenError):
        directory.enterprise_profile(actor=world["ent_actor"], enterprise_id=world["newcomer"])


def test_bank_officer_cannot_read_an_enterprise_profile_without_oversight(world):
    with pytest.raises(ForbiddenError):
        directory.enterprise_profile(actor=world["officer"], enterprise_id=world["ent"])


def test_regulator_reads_any_profile_and_missing_rows_are_not_found(world):
    profile = directory.enterprise_profile(actor=world["regulator_actor"], enterprise_id=world["newcomer"])
    assert profile.has_had_loan is False
    with pytest.raises(NotFoundError):
        directory.enterprise_profile(actor=world["regulator_actor"], enterprise_id=999_999)


def test_list_institutions_puts_head_offices_first(world):
    names = [o.name for o in directory.list_institutions(actor=world["officer"])]
    assert names.index("甲银行") < names.index("甲银行桃城支行")
    assert "金融监管局" not in names


def test_list_demo_enterprises_needs_the_enterprise_list_permission(world):
    found = directory.list_demo_enterprises(actor=world["regulator_actor"], search="测试企业")
    assert {e.id for e in found} == {world["ent"], world["newcomer"]}
    with pytest.raises(ForbiddenError):
        directory.list_demo_enterprises(actor=world["officer"])


def test_demo_identities_and_demo_actor_map_users_to_actors(world):
    bank_ids = directory.demo_identities(app="bank")
    assert [i.user_id for i in bank_ids] == [world["officer_user"]]
    ent_actor = directory.demo_actor(user_id=world["ent_user"])
    assert ent_actor.enterprise_id == world["ent"]
    assert ent_actor.has_role(Role.enterprise_admin)


# -- products -------------------------------------------------------------------------------------


def test_eligibility_explains_what_a_newcomer_is_missing(world):
    matches = product_eligibility.eligible_products_for(
        actor=world["newcomer_actor"], enterprise_id=world["newcomer"], as_of=date(2026, 6, 1)
    )
    by_name = {m.product.name: m for m in matches}
    assert "草稿贷" not in by_name  # drafts are never offered
    assert by_name["普惠贷"].eligible and by_name["普惠贷"].missing == ()
    narrow = by_name["老客贷"]
    assert not narrow.eligible
    assert [m.criterion for m in narrow.missing] == [
        "district",
        "industry",
        "scale",
        "years_in_business",
        "first_loan",
    ]
    years = next(m for m in narrow.missing if m.criterion == "years_in_business")
    assert years.key == "common.elig.years" and years.params == {"required": 3, "actual": 1}
    assert matches[0].eligible  # eligible products come first


def test_established_firm_meets_the_narrow_product(world):
    matches = product_eligibility.eligible_products_for(actor=world["ent_actor"], enterprise_id=world["ent"])
    assert all(m.eligible for m in matches)


def test_enterprise_cannot_ask_eligibility_for_another(world):
    with pytest.raises(ForbiddenError):
        product_eligibility.eligible_products_for(actor=world["ent_actor"], enterprise_id=world["newcomer"])


def test_bank_lists_its_products_including_drafts_but_not_other_banks(world):
    names = {
        p.name for p in products.list_products(actor=world["branch_officer"], institution_id=world["bank"])
    }
    assert names == {"普惠贷", "草稿贷"}
    with pytest.raises(ForbiddenError):
        products.list_products(actor=world["officer"], institution_id=world["other_bank"])


def test_enterprise_sees_only_published_products_of_an_institution(world):
    names = {p.name for p in products.list_products(actor=world["ent_actor"], institution_id=world["bank"])}
    assert names == {"普惠贷"}


# -- applications ---------------------------------------------------------------------------------


def test_counts_by_status_cover_the_institution_and_its_branches(world):
    counts = applications.applications_by_status(actor=world["officer"], institution_id=world["bank"])
    assert dict(zip(counts["status"], counts["count"], strict=True)) == {
        "submitted": 2,
        "approved": 1,
        "rejected": 1,
    }
    assert list(counts["status"]) == ["submitted", "approved", "rejected"]  # lifecycle order


def test_list_applications_filters_by_status_and_names_enterprise_and_product(world):
    rows = applications.list_applications(
        actor=world["officer"], institution_id=world["bank"], status="submitted"
    )
    assert len(rows) == 2
    assert set(rows["product_name"]) == {"普惠贷"}
    assert rows["amount_requested"].tolist() == [500000.0, 500000.0]
    assert str(rows["submitted_at"].dt.tz) == "UTC"


def test_bank_officer_cannot_list_another_institutions_applications(world):
    with pytest.raises(ForbiddenError):
        applications.list_applications(actor=world["officer"], institution_id=world["other_bank"])
    with pytest.raises(ForbiddenError):
        applications.applications_by_status(actor=world["other_officer"], institution_id=world["bank"])


def test_enterprise_actor_cannot_list_institution_applications(world):
    with pytest.raises(ForbiddenError):
        applications.list_applications(actor=world["ent_actor"], institution_id=world["bank"])


def test_regulator_reads_any_institution_and_unknown_institutions_are_not_found(world):
    counts = applications.applications_by_status(
        actor=world["regulator_actor"], institution_id=world["other_bank"]
    )
    assert counts["count"].sum() == 1
    with pytest.raises(NotFoundError):
        applications.list_applications(actor=world["regulator_actor"], institution_id=999_999)


# -- the seeded demo database (SQLite) -------------------------------------------------------------


def test_seeded_demo_users_can_use_every_read_service(seeded_db):
    ent_actor = directory.demo_actor(user_id=directory.demo_identities(app="enterprise")[0].user_id)
    profile = directory.enterprise_profile(actor=ent_actor, enterprise_id=ent_actor.enterprise_id)
    assert len(profile.series) == 12
    matches = product_eligibility.eligible_products_for(actor=ent_actor, enterprise_id=ent_actor.enterprise_id)
    assert matches and all(m.eligible or m.missing for m in matches)

    bank_actor = directory.demo_actor(user_id=directory.demo_identities(app="bank")[0].user_id)
    counts = applications.applications_by_status(actor=bank_actor, institution_id=bank_actor.organization_id)
    rows = applications.list_applications(
        actor=bank_actor, institution_id=bank_actor.organization_id, limit=5000
    )
    assert counts["count"].sum() == len(rows)
