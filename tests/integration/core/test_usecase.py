"""The @use_case decorator (permission, audit, commit/rollback) and optimistic locking, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from core.auth import Permission
from core.db import get_engine, session_scope
from core.errors import ConflictError, ForbiddenError, InvalidError, StaleVersionError
from core.models import AuditEvent, Enterprise, Product
from core.services.audit import verify_chain
from core.usecase import UnitOfWork, expect_version, use_case
from tests import factories


@use_case(Permission.products_manage, write=True)
def rename_product(uow: UnitOfWork, *, actor, product_id: int, name: str, fail_after: bool = False) -> int:
    product = uow.session.get(Product, product_id)
    before = {"name": product.name}
    product.name = name
    uow.audit("product.rename", entity_type="product", entity_id=product_id, before=before, after={"name": name})
    uow.session.flush()
    if fail_after:
        raise InvalidError("error.invalid")
    return product.version


@use_case(Permission.products_manage, write=True)
def touch_without_explicit_audit(uow: UnitOfWork, *, actor, product_id: int) -> None:
    uow.session.get(Product, product_id).tags = ["touched"]


@use_case(Permission.platform_stats)
def count_enterprises(uow: UnitOfWork, *, actor) -> int:
    return len(uow.session.exec(select(Enterprise.id)).all())


@pytest.fixture
def product_id(db) -> int:
    with session_scope() as s:
        bank = factories.institution(s)
        return factories.product(s, bank.id).id


OFFICER = factories.actor("bank_officer", organization_id=1)


def test_a_caller_without_the_permission_is_refused_and_nothing_is_written(product_id):
    enterprise_user = factories.actor("enterprise_user")
    with pytest.raises(ForbiddenError) as info:
        rename_product(actor=enterprise_user, product_id=product_id, name="改名")
    assert "rename_product" in info.value.message("en")
    with session_scope() as s:
        assert s.get(Product, product_id).name != "改名"
        assert s.exec(select(AuditEvent)).all() == []


def test_an_unknown_role_grants_nothing(product_id):
    with pytest.raises(ForbiddenError):
        rename_product(actor=factories.actor("superuser"), product_id=product_id, name="x")


def test_a_successful_write_commits_with_its_audit_event(product_id):
    version = rename_product(actor=OFFICER, product_id=product_id, name="新名称")
    assert version == 2
    with session_scope() as s:
        assert s.get(Product, product_id).name == "新名称"
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["product.rename"]
    assert events[0].before == {"name": events[0].before["name"]} and events[0].after == {"name": "新名称"}
    assert verify_chain(events) is None


def test_a_write_without_explicit_audit_gets_a_default_event(product_id):
    touch_without_explicit_audit(actor=OFFICER, product_id=product_id)
    with session_scope() as s:
        events = s.exec(select(AuditEvent)).all()
    assert [e.action for e in events] == ["touch_without_explicit_audit"]
    assert events[0].after == {"product_id": product_id}


def test_a_failing_use_case_rolls_back_the_change_and_its_audit(product_id):
    with session_scope() as s:
        original = s.get(Product, product_id).name
    with pytest.raises(InvalidError):
        rename_product(actor=OFFICER, product_id=product_id, name="半途", fail_after=True)
    with session_scope() as s:
        assert s.get(Product, product_id).name == original
        assert s.get(Product, product_id).version == 1
        assert s.exec(select(AuditEvent)).all() == []


def test_read_use_cases_write_no_audit(db):
    with session_scope() as s:
        factories.enterprise(s)
    assert count_enterprises(actor=factories.actor("regulator_analyst")) == 1
    with session_scope() as s:
        assert s.exec(select(AuditEvent)).all() == []


def test_audit_events_chain_across_use_cases(product_id):
    for name in ("一", "二", "三"):
        rename_product(actor=OFFICER, product_id=product_id, name=f"产品{name}")
    with session_scope() as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert len(events) == 3
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert verify_chain(events) is None


def test_concurrent_edit_of_the_same_row_raises_a_clear_conflict(product_id):
    # Two reviewers load version 1; the first saves; the second's save must be refused, not lost.
    engine = get_engine()
    first, second = Session(engine), Session(engine)
    try:
        a = first.get(Product, product_id)
        b = second.get(Product, product_id)
        a.rate_max = Decimal("5.50")
        first.commit()
        b.rate_max = Decimal("7.00")
        with pytest.raises(Exception) as info:
            second.commit()
        assert type(info.value).__name__ == "StaleDataError"
    finally:
        first.close()
        second.close()
    with session_scope() as s:
        row = s.get(Product, product_id)
        assert row.rate_max == Decimal("5.50")
        assert row.version == 2


@use_case(Permission.products_manage, write=True)
def save_rate(uow: UnitOfWork, *, actor, product_id: int, seen_version: int, rate: str, meanwhile=None) -> None:
    product = uow.session.get(Product, product_id)
    expect_version(product, seen_version)
    if meanwhile:
        meanwhile()  # another reviewer commits between our read and our write
    product.rate_max = Decimal(rate)


def test_a_form_saved_over_a_newer_version_is_refused_with_a_localized_message(product_id):
    save_rate(actor=OFFICER, product_id=product_id, seen_version=1, rate="5.00")
    with pytest.raises(StaleVersionError) as info:
        save_rate(actor=OFFICER, product_id=product_id, seen_version=1, rate="9.00")
    assert isinstance(info.value, ConflictError)
    assert "刷新" in info.value.message("zh_CN")
    assert "refresh" in info.value.message("en")
    with session_scope() as s:
        assert s.get(Product, product_id).rate_max == Decimal("5.00")


def test_a_write_racing_another_commit_raises_stale_version_and_keeps_the_winner(product_id):
    def other_reviewer():
        with session_scope() as s:
            s.get(Product, product_id).rate_max = Decimal("6.66")

    with pytest.raises(StaleVersionError):
        save_rate(actor=OFFICER, product_id=product_id, seen_version=1, rate="9.00", meanwhile=other_reviewer)
    with session_scope() as s:
        row = s.get(Product, product_id)
        assert row.rate_max == Decimal("6.66")
        assert row.version == 2
        assert s.exec(select(AuditEvent)).all() == []


def test_verify_audit_script_finds_the_first_tampered_event(product_id, tmp_path):
    import subprocess
    import sys

    from sqlalchemy import text

    from core.config import get_settings

    for name in ("一", "二", "三"):
        rename_product(actor=OFFICER, product_id=product_id, name=f"产品{name}")
    url = get_settings().database_url
    script = [sys.executable, "scripts/verify_audit.py", "--database-url", url]
    ok = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "3 audit events" in ok.stdout
    with session_scope() as s:
        second = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()[1]
        postgres = s.get_bind().dialect.name == "postgresql"
        # On PostgreSQL the guard trigger refuses the UPDATE: simulate an attacker holding the table
        # owner's rights, who disables it, tampers, and re-enables it to cover the tracks.
        if postgres:
            s.exec(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        s.exec(text("UPDATE audit_event SET action = 'forged' WHERE id = :i").bindparams(i=second.id))
        if postgres:
            s.exec(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    broken = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert f"audit event {second.id} " in broken.stdout


def test_an_unmigrated_database_says_what_to_run(tmp_path, monkeypatch):
    from core.errors import DatabaseNotReadyError
    from tests.conftest import use_database

    use_database(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseNotReadyError) as info:
        count_enterprises(actor=factories.actor("regulator_analyst"))
    assert info.value.key == "error.database_not_migrated"
    assert "make run" in info.value.message("en")
