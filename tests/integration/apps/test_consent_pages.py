"""The enterprise's consent page under AppTest with real rows: grant (double-click safe), revoke, see the log.

The bank's credit report page is tested in ``test_credit_file_page.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.models import ConsentGrant
from core.models.types import OrgKind
from core.services import consent, credit_report
from tests import factories

ROOT = Path(__file__).resolve().parents[3]
GRANTS_PAGE = ROOT / "apps/enterprise/app_pages/consent/grants.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def people(db):
    with session_scope() as s:
        ent = factories.enterprise(s, legal_rep_name="欧阳娜娜", legal_rep_id_number="130102199001011234",
                                   contact_name="王小明", contact_phone="13812345678")
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        bank = factories.institution(s, name="衡水测试银行", name_en="Hengshui Test Bank")
        owner_user = factories.user(s, ent_org, ["enterprise_admin"])
        officer_user = factories.user(s, bank, ["bank_officer"])
        owner = Actor(owner_user.id, "owner", frozenset({"enterprise_admin"}), ent_org.id, ent.id)
        officer = Actor(officer_user.id, "officer", frozenset({"bank_officer"}), bank.id, None)
        return {"owner": owner, "officer": officer, "bank_id": bank.id, "enterprise_id": ent.id}


def page(path: Path, actor: Actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def grants() -> list[ConsentGrant]:
    with session_scope() as s:
        return list(s.exec(select(ConsentGrant)))


def test_the_enterprise_grants_once_even_when_the_button_is_pressed_twice(people):
    at = page(GRANTS_PAGE, people["owner"])
    assert not at.exception
    at.selectbox(key="ent_consent_institution").select(people["bank_id"]).run()
    at.multiselect(key="ent_consent_scopes").select("basic").select("financials").run()
    at.text_input(key="ent_consent_purpose").input("申请流动资金贷款").run()
    key_before = at.session_state["ent_consent_idempotency_key"]
    at.button(key="ent_consent_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "衡水测试银行" in at.success[0].value
    at.button(key="ent_consent_submit").click().run()  # the second press of a double-click
    assert not at.exception and not at.error
    assert at.session_state["ent_consent_idempotency_key"] == key_before
    assert len(grants()) == 1
    assert at.button(key=f"ent_consent_revoke_{grants()[0].id}")


def test_bad_grant_input_shows_every_message_and_stores_nothing(people):
    at = page(GRANTS_PAGE, people["owner"], lang="en")
    at.button(key="ent_consent_submit").click().run()
    assert not at.exception
    messages = " ".join(e.value for e in at.error)
    assert "Choose at least one scope" in messages and "Enter a purpose" in messages and "institution" in messages
    assert grants() == []


def test_the_enterprise_revokes_and_sees_the_access_log(people):
    granted = consent.grant_consent(actor=people["owner"], institution_id=people["bank_id"], scopes=["basic"],
                                    purpose="贷款", days=30, idempotency_key="page-test-0001")
    credit_report.read_credit_report(actor=people["officer"], enterprise_id=people["enterprise_id"],
                                     purpose="贷前调查")
    at = page(GRANTS_PAGE, people["owner"])
    assert not at.exception
    log = at.dataframe[0].value
    assert list(log.iloc[0])[3:5] == ["基本信息", "贷前调查"]
    at.button(key=f"ent_consent_revoke_{granted.id}").click().run()
    assert not at.exception
    assert grants()[0].revoked_at is not None
    assert any("衡水测试银行" in s.value for s in at.success)
