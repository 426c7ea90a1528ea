"""Seeded demo data fills the regulator's matchmaking ledger and the first-loan funnel, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.db import build_engine
from core.i18n import translate
from core.seed import seed_database
from core.services import first_loan, ledger
from core.services.first_loan import STAGES, windows
from tests import factories

REGULATOR = factories.actor("regulator_analyst")


def _scalar(url: str, sql: str) -> int:
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _narrows(frame) -> bool:
    """Each row's counts never grow from one funnel stage to the next."""
    values = frame[STAGES].to_numpy()
    return bool((values[:, 1:] <= values[:, :-1]).all())


def _check_ledger_and_funnel(url: str) -> None:
    view = ledger.ledger_view(actor=REGULATOR)
    rows, k = view.rows, view.kpis
    assert {"dispatch", "redispatch", "claim", "direct"} <= set(rows["channel"])
    assert k["pushes"] == _scalar(url, "SELECT COUNT(*) FROM lead") > 0
    # Applications that came through a lead sit on the lead's row.
    via_lead = rows[rows["lead_id"].notna() & rows["application_id"].notna()]
    assert len(via_lead) == _scalar(url, "SELECT COUNT(*) FROM application WHERE lead_id IS NOT NULL") > 0
    lead_rows = rows[rows["lead_id"].notna()]
    assert {"met", "missed"} <= set(lead_rows["response_sla"].dropna())
    assert set(lead_rows["lead_status"]) >= {"responded", "applied", "declined", "expired"}
    assert lead_rows["escalated_at"].notna().any() and lead_rows["response_note"].notna().any()
    assert 0.6 < k["response_sla"] < 0.99 and k["decision_sla"] is not None
    assert not view.league.empty and view.league["leads"].sum() == k["pushes"]
    # The funnel: content, narrowing at every step, windows within the configured count.
    funnel = first_loan.first_loan_funnel(actor=REGULATOR)
    counts = funnel.totals.set_index("stage")["count"]
    assert counts["visit"] > counts["first_loan"] > 0
    assert list(counts) == sorted(counts, reverse=True)
    assert _narrows(funnel.by_window) and _narrows(funnel.by_institution)
    assert funnel.by_window["window_no"].between(1, windows()).all()
    assert funnel.by_window["visit"].sum() == funnel.by_institution["visit"].sum() == counts["visit"]
    # No window is booked twice for one slot, whatever the appointments' status.
    assert _scalar(url, "SELECT COUNT(*) FROM (SELECT window_no, slot_start FROM appointment "
                        "GROUP BY window_no, slot_start HAVING COUNT(*) > 1) AS twice") == 0


@pytest.mark.slow
def test_seeded_demo_fills_the_ledger_and_the_funnel(db):
    url = get_settings().database_url
    report = seed_database(url, scale="small", seed=42, n_enterprises=150, progress=False)
    assert report.rows["lead"] > 0 and report.rows["appointment"] > 0
    _check_ledger_and_funnel(url)


def test_the_shared_seeded_database_has_ledger_rows_and_a_funnel(seeded_db):
    _check_ledger_and_funnel(seeded_db)


def test_a_seeded_booking_without_guidance_reads_as_none_not_nan(seeded_db):
    from sqlmodel import select

    from core.db import session_scope
    from core.models import Appointment

    with session_scope() as s:
        eid = s.exec(select(Appointment.enterprise_id).where(Appointment.guidance_note.is_(None))).first()
    owner = factories.actor("enterprise_admin", enterprise_id=int(eid))
    mine = first_loan.my_appointments(actor=owner, enterprise_id=int(eid))
    notes = mine["guidance_note"].tolist() + mine["note"].tolist()
    assert None in notes  # the page shows a note only when there is one: a NaN would read as "nan"
    assert all(v is None or (isinstance(v, str) and v) for v in notes)


ROOT = Path(__file__).resolve().parents[2]


def _page(path: str, actor) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    at.session_state["actor"] = actor
    return at.run()


def test_the_ledger_page_shows_seeded_pushes_without_none_or_nan(seeded_db):
    at = _page("apps/regulator/app_pages/ledger/ledger.py", REGULATOR)
    assert not at.exception and not at.error
    rows = at.dataframe[0].value
    shown = rows.astype(object).where(rows.notna(), "").astype(str)
    assert not shown.apply(lambda c: c.str.contains(r"\bnan\b|\bNone\b|app_status\.", regex=True)).any().any()
    assert {"平台派单", "超时改派", "机构抢单", "直接申请"} <= set(rows["channel"])
    assert rows["application_status"].isin(["", "已提交"]).any() and (rows["lead_status"] == "已响应").any()
    # The funnel tab's tables and the league table render too (visitors who never applied form a row).
    assert len(at.dataframe) == 4
    by_institution = at.dataframe[2].value
    assert translate("loans.ledger.not_applied", "zh_CN") in set(by_institution["institution_id"])
    assert not at.dataframe[3].value.empty


def test_the_first_loan_center_lists_a_seeded_booking_without_a_nan_note(seeded_db):
    from core.db import session_scope
    from core.models import Appointment, Organization

    with session_scope() as s:
        eid, org = s.exec(select(Appointment.enterprise_id, Organization.id).join(
            Organization, Organization.enterprise_id == Appointment.enterprise_id).where(
            Appointment.status == "booked")).first()
    owner = factories.actor("enterprise_admin", enterprise_id=int(eid), organization_id=int(org))
    at = _page("apps/enterprise/app_pages/first_loan/center.py", owner)
    assert not at.exception and not at.error
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert any("已预约" in x for x in texts) and any("已到访" in x for x in texts)
    assert not any("nan" in x for x in texts)
