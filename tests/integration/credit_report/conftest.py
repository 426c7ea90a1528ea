"""A world for the credit report: one enterprise with data in every section, banks around it, grants helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.auth import Actor
from core.db import session_scope
from core.models import (
    ConsentGrant,
    CreditScore,
    DataAccessLog,
    FinancialStatement,
    GovRecord,
    Organization,
    RecordDispute,
    RepaymentInstallment,
    ScoringModel,
    Shareholding,
)
from core.models.types import (
    ApplicationStatus,
    GovSource,
    HolderType,
    InstallmentStatus,
    LoanStatus,
    ModelStatus,
    OrgKind,
    utcnow,
)
from tests import factories

LATEST_MONTH = date(2026, 10, 1)


@dataclass
class ReportWorld:
    enterprise_id: int
    partner_id: int  # holds 20% of the enterprise and is 30% held by it
    head_office_id: int
    branch_id: int
    sibling_branch_id: int
    other_bank_id: int
    records: dict[str, int]  # name -> row id of records tests dispute
    owner: Actor
    head_officer: Actor
    branch_officer: Actor
    sibling_officer: Actor
    other_officer: Actor
    regulator: Actor


def _months_back(n: int) -> date:
    year, month = LATEST_MONTH.year, LATEST_MONTH.month - n
    while month <= 0:
        month += 12
        year -= 1
    return date(year, month, 1)


def build_world(*, name: str = "衡水信用报告测试有限公司") -> ReportWorld:
    with session_scope() as s:
        ent = factories.enterprise(
            s,
            name=name,
            legal_rep_name="欧阳娜娜",
            legal_rep_id_number="130102199001011234",
            contact_name="王小明",
            contact_phone="13812345678",
        )
        partner = factories.enterprise(s, name="衡水合作伙伴有限公司")
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        head = factories.institution(s, name="衡水测试银行", name_en="Hengshui Test Bank")
        branch = factories.institution(s, name="衡水测试银行桃城支行", parent_id=head.id)
        sibling = factories.institution(s, name="衡水测试银行冀州支行", parent_id=head.id)
        other_bank = factories.institution(s, name="别家商业银行")
        regulator_org = factories.institution(s, kind=OrgKind.regulator)
        records: dict[str, int] = {}
        # Government data: 30 months of three series (the report keeps 24) and three events.
        for n in range(30):
            period = _months_back(n)
            s.add(
                GovRecord(
                    enterprise_id=ent.id,
                    source=GovSource.tax,
                    kind="tax_paid",
                    period=period,
                    value=1000.0 + n,
                )
            )
            s.add(
                GovRecord(
                    enterprise_id=ent.id,
                    source=GovSource.social_insurance,
                    kind="si_headcount",
                    period=period,
                    value=20.0,
                )
            )
        s.add(
            GovRecord(
                enterprise_id=ent.id,
                source=GovSource.electricity,
                kind="electricity_kwh",
                period=LATEST_MONTH,
                value=5200.0,
            )
        )
        case = GovRecord(
            enterprise_id=ent.id,
            source=GovSource.judicial,
            kind="judicial_case",
            period=date(2026, 6, 3),
            ref="(2026)冀1102民初123号",
            value=80000.0,
            text="买卖合同纠纷",
        )
        arrears = GovRecord(
            enterprise_id=ent.id,
            source=GovSource.tax,
            kind="tax_arrears",
            period=date(2026, 8, 15),
            value=12000.0,
            text="欠缴税款",
        )
        s.add_all([case, arrears])
        s.flush()
        records.update(case=case.id, arrears=arrears.id)
        for year, revenue in ((2024, "6000000"), (2025, "8000000")):
            statement = FinancialStatement(
                enterprise_id=ent.id,
                year=year,
                revenue=Decimal(revenue),
                net_profit=Decimal("600000"),
                total_assets=Decimal("5000000"),
                total_liabilities=Decimal("2000000"),
                current_assets=Decimal("3000000"),
                current_liabilities=Decimal("1500000"),
                operating_cash_flow=Decimal("700000"),
            )
            s.add(statement)
            s.flush()
            records[f"fin{year}"] = statement.id
        person = Shareholding(
            enterprise_id=ent.id,
            holder_type=HolderType.person,
            holder_name="李四",
            holder_id_number="131102198506071234",
            share_pct=Decimal("80"),
            since=date(2015, 3, 1),
        )
        company = Shareholding(
            enterprise_id=ent.id,
            holder_type=HolderType.enterprise,
            holder_enterprise_id=partner.id,
            holder_name=partner.name,
            share_pct=Decimal("20"),
            since=date(2018, 1, 1),
        )
        held = Shareholding(
            enterprise_id=partner.id,
            holder_type=HolderType.enterprise,
            holder_enterprise_id=ent.id,
            holder_name=ent.name,
            share_pct=Decimal("30"),
            since=date(2019, 1, 1),
        )
        former = Shareholding(
            enterprise_id=ent.id,
            holder_type=HolderType.person,
            holder_name="赵五",
            share_pct=Decimal("5"),
            since=date(2015, 3, 1),
            until=date(2017, 1, 1),
        )
        s.add_all([person, company, held, former])
        s.flush()
        records["holder_person"] = person.id
        # Financing: one application and loan with the head office (own family), one with another bank.
        own_product = factories.product(s, head.id, name="衡信贷")
        other_product = factories.product(s, other_bank.id, name="别家秘密产品")
        own_app = factories.application(s, ent, own_product, status=ApplicationStatus.repaying)
        other_app = factories.application(
            s, ent, other_product, status=ApplicationStatus.overdue, amount_requested=Decimal("300000")
        )
        factories.application(s, ent, own_product, status=ApplicationStatus.rejected)
        factories.loan(s, own_app)
        other_loan = factories.loan(
            s, other_app, status=LoanStatus.overdue, disbursed_at=datetime(2025, 11, 2, 3, tzinfo=UTC)
        )
        for seq, dpd in ((1, 0), (2, 45)):
            s.add(
                RepaymentInstallment(
                    loan_id=other_loan.id,
                    seq=seq,
                    due_date=date(2026, seq, 2),
                    principal_due=Decimal("25000"),
                    interest_due=Decimal("900"),
                    days_past_due=dpd,
                    status=InstallmentStatus.overdue if dpd else InstallmentStatus.paid,
                )
            )
        # Ratings: two dates, the latest with reasons in the breakdown contract.
        model = ScoringModel(
            name="小微企业评分卡", model_version="2.1", segment="all", status=ModelStatus.approved
        )
        s.add(model)
        s.flush()
        s.add(
            CreditScore(
                enterprise_id=ent.id,
                model_id=model.id,
                score=640,
                grade="BBB",
                pd=0.031,
                as_of=date(2026, 6, 30),
                reason_codes=["R01"],
            )
        )
        s.add(
            CreditScore(
                enterprise_id=ent.id,
                model_id=model.id,
                score=655,
                grade="A",
                pd=0.024,
                as_of=date(2026, 9, 30),
                reason_codes=["R07"],
                breakdown={
                    "status": "rated",
                    "reasons": [{"code": "R07", "feature": "tax_trend", "value": -0.2, "points_lost": 18.5}],
                },
            )
        )

        def person_actor(org: Organization, role: str) -> Actor:
            user = factories.user(s, org, [role], display_name=f"{role}员工")
            return Actor(user.id, user.display_name, frozenset({role}), org.id, org.enterprise_id)

        return ReportWorld(
            enterprise_id=ent.id,
            partner_id=partner.id,
            head_office_id=head.id,
            branch_id=branch.id,
            sibling_branch_id=sibling.id,
            other_bank_id=other_bank.id,
            records=records,
            owner=person_actor(ent_org, "enterprise_admin"),
            head_officer=person_actor(head, "bank_officer"),
            branch_officer=person_actor(branch, "bank_manager"),
            sibling_officer=person_actor(sibling, "bank_officer"),
            other_officer=person_actor(other_bank, "bank_officer"),
            regulator=person_actor(regulator_org, "regulator_analyst"),
        )


@pytest.fixture
def world(db) -> ReportWorld:
    return build_world()


def add_grant(
    w: ReportWorld,
    *,
    institution_id: int | None = None,
    scopes=("basic", "gov_records", "financials", "credit"),
    days: int = 30,
    revoked: bool = False,
    expired: bool = False,
) -> int:
    now = utcnow()
    start = now - timedelta(days=60) if expired else now
    with session_scope() as s:
        grant = ConsentGrant(
            enterprise_id=w.enterprise_id,
            institution_id=institution_id or w.head_office_id,
            scopes=list(scopes),
            purpose="申请流动资金贷款",
            granted_at=start,
            expires_at=start + timedelta(days=days),
            revoked_at=now if revoked else None,
        )
        s.add(grant)
        s.flush()
        return grant.id


def dispute(w: ReportWorld, record_type: str, record_id: int, *, status: str = "open") -> int:
    now = utcnow()
    with session_scope() as s:
        row = RecordDispute(
            enterprise_id=w.enterprise_id,
            record_type=record_type,
            record_id=record_id,
            reason="记录有误，请核实",
            status=status,
            raised_at=now,
            due_at=now + timedelta(days=20),
        )
        s.add(row)
        s.flush()
        return row.id


def log_rows() -> list[DataAccessLog]:
    with session_scope() as s:
        return list(s.exec(select(DataAccessLog).order_by(DataAccessLog.id)))
