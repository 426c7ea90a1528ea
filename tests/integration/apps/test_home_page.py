"""The enterprise home page under AppTest with real rows, in Chinese and English: the greeting, the to-do
strip in urgency order, KPI cards, recommended products with why they fit, the near miss, needs and
applications with their next step, due reminders with the overdue amount, notices; a brand-new
enterprise's how-to-start state; another enterprise's rows never shown; "view and apply" preselects
the product for the supermarket page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.lending.workdays import SHANGHAI
from tests.integration.home.world import build_home

ROOT = Path(__file__).resolve().parents[3]
HOME = ROOT / "apps/enterprise/app_pages/home/home.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def home(db):
    return build_home()


def page(actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(HOME), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def test_home_in_chinese_shows_every_block_with_next_steps_and_urgency(home):
    at = page(home.owner)
    assert not at.exception and not at.error
    assert at.title[0].value.split("，")[1].startswith("衡水测试企业")
    assert at.title[0].value.split("，")[0] in {"上午好", "下午好", "晚上好"}
    assert texts(at, "subheader") == ["待办事项", "为您推荐", "我的融资需求", "我的申请", "还款提醒", "最新消息（4 条未读）"]
    md = texts(at, "markdown")
    todo = [m for m in md if m.startswith((":red-badge", ":orange-badge[尽快]", ":gray-badge"))]
    assert len(todo) == 6
    assert "逾期 10 天" in todo[0] and "20,500" in todo[0]  # the overdue repayment first
    assert "还有 3 天" in todo[1] and "16,500" in todo[1]
    assert "补充材料" in todo[2] and "近 6 个月银行流水" in todo[2]
    assert "授权" in todo[3] and "签订借款合同" in todo[4] and "异议" in todo[5]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["信用等级"] == "A"
    assert metrics["进行中的融资需求"] == "1"
    assert metrics["办理中的申请（2 项待您处理）"] == "2"
    assert metrics["下次还款（3 天后）"] == (home.now.astimezone(SHANGHAI).date() + timedelta(days=3)).strftime("%m-%d")
    assert [e.label for e in at.expander][0] == "其余 2 项待办"  # four to-do cards, the rest folded
    assert [b.key for b in at.button][:3] == [f"ent_home_open_{home.w.products[k]}" for k in "abc"]
    assert any("同类企业获批率" in m or "年利率 3.50% 起" in m for m in md)  # why it fits
    assert any(m.startswith(":orange[:material/lightbulb:]") and "B行优享贷" in m for m in md)
    assert any("AAA" in m and "A" in m for m in md if m.startswith("- "))  # what the near miss lacks
    assert "已推送 2 家机构，1 家已响应" in md
    assert md.count(":orange-badge[:material/directions: 轮到您]") == 2
    assert "请上传银行要求的材料（见下方）。" in md
    assert texts(at, "warning") == ["已逾期 10 天：1 期未还，共 ¥20,500.00"]
    assert any("¥16,500.00" in m and "3 天后" in m for m in md)
    assert "需补充：近 6 个月银行流水" in texts(at, "caption")


def test_home_in_english(home):
    at = page(home.owner, lang="en")
    assert not at.exception and not at.error
    assert at.title[0].value.startswith("Good ")
    assert texts(at, "subheader") == ["To do", "Recommended for you", "My financing needs", "My applications",
                                      "Repayments due", "Latest notices (4 unread)"]
    md = texts(at, "markdown")
    assert any(m.startswith(":red-badge[Urgent]") and "10 days overdue" in m for m in md)
    assert any("Your turn" in m for m in md)
    assert [m.label for m in at.metric] == ["Credit grade", "Open needs", "Open applications (2 waiting on you)",
                                            "Next repayment (in 3 days)"]
    assert texts(at, "warning") == ["10 days overdue: 1 installment(s), ¥20,500.00 unpaid"]
    assert any("installment 1 of loan" in m for m in md)  # a notice written with a key, shown in English


def test_a_brand_new_enterprise_is_shown_how_to_start(home):
    for lang, title, steps in ((None, "欢迎来到金融服务平台", "首贷中心"), ("en", "Welcome!", "first-loan center")):
        at = page(home.newcomer, lang=lang)
        assert not at.exception and not at.error
        assert title in at.info[0].value
        assert any(steps in m for m in texts(at, "markdown"))
        assert not at.warning
        assert len(at.success) == 1  # "nothing needs your attention"
        metrics = [m.value for m in at.metric]
        assert metrics[1:] == ["0", "0", "—"]


def test_another_enterprises_rows_are_not_shown(home):
    at = page(home.newcomer)
    shown = " ".join(texts(at, "markdown") + texts(at, "caption") + texts(at, "warning"))
    for loan in (home.other_ids["due_loan"], home.other_ids["overdue_loan"], home.due_loan_id):
        assert f"贷款 #{loan}" not in shown and f"**#{loan} " not in shown
    assert "需求 #" not in shown and "近 6 个月银行流水" not in shown


def test_view_and_apply_preselects_the_product_for_the_supermarket(home):
    at = page(home.owner)
    product = home.w.products["a"]
    at.button(key=f"ent_home_open_{product}").click().run()
    assert not at.exception
    assert at.session_state["ent_market_selected"] == product
