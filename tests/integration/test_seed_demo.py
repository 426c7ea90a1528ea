"""Seeding real databases (SQLite and PostgreSQL) and the seed_demo script's refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from core.config import PROJECT_ROOT, get_settings
from core.db import build_engine
from core.models import AuditEvent, Organization, User
from core.models.types import OrgKind
from core.seed import generate, seed_database
from core.seed.generator import TABLE_ORDER

N = 60  # enterprises: enough for every status and role, quick on both backends


def _counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in TABLE_ORDER}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_seeding_writes_the_generated_rows_and_a_second_run_duplicates_nothing(db):
    url = get_settings().database_url
    expected = {t: len(df) for t, df in generate("small", 5, n_enterprises=N).items() if not t.startswith("_")}
    report = seed_database(url, scale="small", seed=5, n_enterprises=N, progress=False)
    assert not report.skipped
    assert report.rows == expected
    assert _counts(url) == expected
    assert expected["lead"] > expected["financing_need"] // 2 and expected["appointment"] > 0  # ledger and hall

    again = seed_database(url, scale="small", seed=5, n_enterprises=N, progress=False)
    assert again.skipped and "already holds the demo data" in again.message
    assert _counts(url) == expected

    engine = build_engine(url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 1
        # Sequences were moved past the loaded ids: an ORM insert gets a fresh id.
        org = Organization(code="TEST-NEW", name="新机构", kind=OrgKind.bank)
        session.add(org)
        session.commit()
        assert org.id > expected["organization"]
        user = session.exec(select(User).where(User.subject == "demo-bank_officer-1")).one()
        assert user.roles == ["bank_officer"]
    engine.dispose()


@pytest.mark.slow
def test_force_reloads_the_same_data(db):
    url = get_settings().database_url
    seed_database(url, scale="small", seed=5, n_enterprises=N, progress=False)
    report = seed_database(url, scale="small", seed=5, n_enterprises=N, progress=False, force=True)
    assert not report.skipped
    assert _counts(url) == report.rows


def test_the_seeded_fixture_has_every_role_and_status(seeded_db):
    from core.db import session_scope
    from core.models import Application, Appointment, Lead

    with session_scope() as session:
        roles = {r for rs in session.exec(select(User.roles)).all() for r in rs}
        statuses = set(session.exec(select(Application.status).distinct()).all())
        lead_statuses = set(session.exec(select(Lead.status).distinct()).all())
        visits = set(session.exec(select(Appointment.status).distinct()).all())
    assert "enterprise_admin" in roles and "regulator_analyst" in roles and "wall_viewer" in roles
    assert len(statuses) == 13
    assert {"responded", "applied", "declined", "expired"} <= lead_statuses
    assert {"attended", "no_show", "cancelled", "booked"} == visits


def _run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/seed_demo.py", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_script_refuses_an_unknown_scale_with_one_line():
    result = _run_script("--scale", "gigantic", "--database-url", "sqlite:///:memory:")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "gigantic" in lines[0]


def test_script_refuses_an_unreachable_database_with_one_line():
    result = _run_script("--database-url", "postgresql://postgres@127.0.0.1:1/nowhere", "--no-progress")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot connect to the database at postgresql")
    assert "Traceback" not in result.stderr
