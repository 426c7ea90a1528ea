"""The credit report on both databases: consent per scope, the access log, masking, disputes, loan history."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from core.auth.masking import Disclosure
from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, NotFoundError
from core.models import ConsentGrant
from core.models.types import utcnow
from core.services import consent, credit_report
from core.services.consent import ConsentRequiredError
from tests.integration.credit_report.conftest import add_grant, dispute, log_rows

ALL = ["basic", "gov_records", "financials", "credit"]


def read(w, actor=None, purpose="贷前调查"):
    return credit_report.read_credit_report(
        actor=actor or w.head_officer, enterprise_id=w.enterprise_id, purpose=purpose
    )


# -- consent ----------------------------------------------------------------------------------------


def test_without_any_grant_the_report_is_refused_with_a_clear_message_and_nothing_is_logged(world):
    with pytest.raises(ConsentRequiredError) as info:
        read(world)
    assert isinstance(info.value, ForbiddenError)
    assert "授权" in info.value.message("zh_CN") and "consent" in info.value.message("en")
    assert log_rows() == []


def test_expired_revoked_and_other_institutions_grants_do_not_count(world):
    add_grant(world, expired=True)
    add_grant(world, revoked=True)
    add_grant(world, institution_id=world.other_bank_id)
    with pytest.raises(ConsentRequiredError):
        read(world)
    assert log_rows() == []


def test_a_basic_only_grant_shows_basic_and_marks_every_other_section_not_authorised(world):
    add_grant(world, scopes=["basic"])
    report = read(world)
    assert report.granted == ["basic"] and report.missing == ["gov_records", "financials", "credit"]
    assert report.basic is not None and report.ownership is not None
    assert report.gov is None and report.financials is None and report.rating is None and report.loans is None
    assert [r.scope for r in log_rows()] == ["basic"]


def test_every_scope_shown_is_logged_once_under_the_grant_that_covers_it(world):
    head_grant = add_grant(world, scopes=["basic", "credit"], days=10)
    branch_grant = add_grant(world, institution_id=world.branch_id, scopes=["financials", "credit"], days=90)
    report = read(world, world.branch_officer, purpose="贷后检查")
    assert report.granted == ["basic", "financials", "credit"] and report.missing == ["gov_records"]
    rows = log_rows()
    assert {r.scope: r.consent_id for r in rows} == {
        "basic": head_grant,
        "financials": branch_grant,
        "credit": branch_grant,  # the longest-lasting grant covering the scope
    }
    assert {r.institution_id for r in rows} == {world.branch_id}
    assert {r.actor_user_id for r in rows} == {world.branch_officer.user_id}
    assert {r.purpose for r in rows} == {"贷后检查"}
    assert report.access_log_ids == {r.scope: r.id for r in rows}
    assert report.consent_id == branch_grant and [c.consent_id for c in report.consents] == [
        branch_grant,
        head_grant,
    ]
    frame = consent.data_access_log(actor=world.owner)  # the enterprise sees every read
    assert sorted(frame["scope"]) == ["basic", "credit", "financials"]


def test_a_head_office_grant_covers_its_branches_but_a_branch_grant_covers_no_one_else(world):
    add_grant(world, institution_id=world.branch_id, scopes=["basic"])
    assert read(world, world.branch_officer).granted == ["basic"]
    for actor in (world.head_officer, world.sibling_officer):
        with pytest.raises(ConsentRequiredError):
            read(world, actor)
    add_grant(world, institution_id=world.head_office_id, scopes=["credit"])
    assert read(world, world.sibling_officer).granted == ["credit"]


def test_the_header_names_number_time_institution_officer_consent_and_purpose(world):
    grant_id = add_grant(world)
    report = read(world)
    assert report.report_number.startswith("JF") and report.report_number.endswith(
        f"{min(report.access_log_ids.values()):08d}"
    )
    assert report.generated_at.tzinfo is not None and abs(report.generated_at - utcnow()) < timedelta(
        minutes=5
    )
    assert report.institution_name == "衡水测试银行" and report.institution_name_en == "Hengshui Test Bank"
    assert report.officer_name == "bank_officer员工"
    assert report.consent_id == grant_id and report.consent_expires_at > utcnow()
    assert report.purpose == "贷前调查"
    name = report.pdf_file_name()
    assert name.startswith("信用报告_9113xxxxxxxxxx") and name.endswith(".pdf") and "*" not in name
    assert report.credit_code not in report.pdf_file_name()


# -- sections -----------------------------------------------------------------------------------------


def test_people_are_masked_for_the_reader_and_no_full_id_number_leaves_the_service(world):
    add_grant(world)
    report = read(world)
    assert report.disclosure is Disclosure.contact
    assert (
        report.basic.legal_rep_name == "欧阳娜娜" and report.basic.legal_rep_id_number == "130102********1234"
    )
    assert report.basic.contact_phone == "13812345678"
    holders = report.ownership.shareholders.set_index("holder_type")
    assert holders.loc["person", "holder_name"] == "李四"
    assert holders.loc["person", "holder_id_number"] == "131102********1234"
    assert holders.loc["enterprise", "holder_name"] == "衡水合作伙伴有限公司"
    assert "赵五" not in set(report.ownership.shareholders["holder_name"])  # a past holder is not current
    assert list(report.ownership.holdings["enterprise_name"]) == ["衡水合作伙伴有限公司"]
    assert list(report.ownership.holdings["share_pct"]) == [30.0]


def test_government_data_has_24_months_of_series_and_the_events(world):
    add_grant(world, scopes=["gov_records"])
    gov = read(world).gov
    assert len(gov.series) == 24
    assert gov.series["tax_paid"].iloc[-1] == 1000.0 and gov.series["tax_paid"].iloc[0] == 1023.0
    assert gov.series["electricity_kwh"].notna().sum() == 1
    summary = gov.summary.set_index("source")
    assert summary.loc["tax", "records"] == 31 and summary.loc["tax", "events"] == 1
    assert list(gov.events["kind"]) == ["tax_arrears", "judicial_case"]  # newest first
    assert gov.events.iloc[1]["ref"] == "(2026)冀1102民初123号"


def test_financial_statements_come_with_ratios(world):
    add_grant(world, scopes=["financials"])
    fin = read(world).financials.set_index("year")
    assert list(fin.index) == [2025, 2024]
    assert fin.loc[2025, "debt_ratio"] == pytest.approx(0.4)
    assert fin.loc[2025, "current_ratio"] == pytest.approx(2.0)
    assert fin.loc[2025, "net_margin"] == pytest.approx(0.075)


def test_the_rating_shows_the_latest_score_its_model_and_reasons_and_the_trend(world):
    add_grant(world, scopes=["credit"])
    rating = read(world).rating
    assert (rating.score, rating.grade, rating.pd, rating.status) == (655, "A", 0.024, "rated")
    assert (rating.model_name, rating.model_version) == ("小微企业评分卡", "2.1")
    assert rating.reasons == [{"code": "R07", "feature": "tax_trend", "value": -0.2, "points_lost": 18.5}]
    assert list(rating.trend["score"]) == [640, 655]


def test_loan_history_names_the_readers_own_institution_and_generalizes_the_others(world):
    add_grant(world, scopes=["credit"])
    loans = read(world, world.branch_officer).loans  # the branch's family is the head office's
    apps = loans.applications
    own = apps[apps["own"]]
    assert len(apps) == 3 and len(own) == 2
    assert set(own["institution_name"]) == {"衡水测试银行"} and set(own["product_name"]) == {"衡信贷"}
    other = apps[~apps["own"]].iloc[0]
    assert pd.isna(other["institution_name"]) and pd.isna(other["product_name"])
    assert other["institution_kind"] == "bank" and other["product_type"] == "credit_loan"
    assert other["status"] == "overdue"
    assert loans.loans_count == 2 and loans.loans_active == 2 and loans.worst_dpd == 45
    by_own = loans.loans.set_index("own")
    assert by_own.loc[False, "worst_dpd"] == 45 and by_own.loc[True, "worst_dpd"] == 0
    flat = " ".join(str(v) for v in loans.loans.to_numpy().ravel()) + " ".join(
        str(v) for v in apps.to_numpy().ravel()
    )
    assert "别家" not in flat


def test_records_in_an_open_dispute_are_flagged_and_counted(world):
    add_grant(world, scopes=["basic", "gov_records", "credit"])
    dispute(world, "gov_record", world.records["case"])
    dispute(world, "shareholding", world.records["holder_person"])
    dispute(world, "financial_statement", world.records["fin2025"])  # financials not granted: not counted
    dispute(world, "gov_record", world.records["arrears"], status="rejected")  # answered: no mark
    dispute(world, "enterprise", world.enterprise_id)
    report = read(world)
    assert report.disputed_count == 3
    events = report.gov.events.set_index("record_id")
    assert bool(events.loc[world.records["case"], "disputed"]) is True
    assert events.loc[world.records["case"], "dispute_days_left"] in (19, 20)
    assert bool(events.loc[world.records["arrears"], "disputed"]) is False
    assert report.ownership.shareholders.set_index("record_id").loc[
        world.records["holder_person"], "disputed"
    ]
    assert report.basic.disputed is True
    assert report.gov.summary.set_index("source").loc["judicial", "disputed"] == 1


# -- refusals and bad input -------------------------------------------------------------------------


def test_bad_purpose_and_unknown_enterprise_are_refused_and_nothing_is_logged(world):
    add_grant(world)
    for purpose in (" ", "x", "<b>贷前</b>", "长" * 201):
        with pytest.raises(InvalidError) as info:
            read(world, purpose=purpose)
        assert info.value.field == "purpose"
    with pytest.raises(NotFoundError):
        credit_report.read_credit_report(actor=world.head_officer, enterprise_id=999_999, purpose="贷前调查")
    assert log_rows() == []


def test_regulators_and_enterprises_cannot_read_the_report(world):
    add_grant(world)
    for actor in (world.regulator, world.owner):
        with pytest.raises(ForbiddenError):
            read(world, actor)
    assert log_rows() == []


def test_the_pdf_download_is_logged_and_refused_once_the_consent_is_revoked(world):
    grant_id = add_grant(world, scopes=["basic", "credit"])
    report = read(world)
    kwargs = {
        "actor": world.head_officer,
        "enterprise_id": world.enterprise_id,
        "scopes": report.granted,
        "purpose": report.purpose,
        "report_number": report.report_number,
    }
    entry = credit_report.record_report_download(**kwargs)
    rows = log_rows()
    assert rows[-1].id == entry and rows[-1].scope == "report_pdf" and rows[-1].consent_id == grant_id
    with session_scope() as s:
        s.get(ConsentGrant, grant_id).revoked_at = utcnow()
    with pytest.raises(ConsentRequiredError):
        credit_report.record_report_download(**kwargs)
    with pytest.raises(InvalidError):
        credit_report.record_report_download(**{**kwargs, "report_number": "<x>"})
    with pytest.raises(InvalidError):
        credit_report.record_report_download(**{**kwargs, "scopes": ["everything"]})
    assert len(log_rows()) == 3  # two scopes read, one download


def test_consented_enterprises_lists_only_grants_covering_the_callers_institution(world):
    add_grant(world, institution_id=world.head_office_id, scopes=["basic"])
    add_grant(world, institution_id=world.branch_id, scopes=["credit"])
    branch = credit_report.consented_enterprises(actor=world.branch_officer)
    assert list(branch["enterprise_id"]) == [world.enterprise_id]
    assert branch.iloc[0]["scopes"] == ["basic", "credit"]
    head = credit_report.consented_enterprises(actor=world.head_officer)
    assert head.iloc[0]["scopes"] == ["basic"]
    assert credit_report.consented_enterprises(actor=world.other_officer).empty
    assert credit_report.consented_enterprises(actor=world.head_officer, search="no such firm").empty
    assert len(credit_report.consented_enterprises(actor=world.head_officer, search="信用报告")) == 1
