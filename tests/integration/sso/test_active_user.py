"""Signed-in actors are completed with their platform user id, and deactivated accounts are refused."""

from __future__ import annotations

from core.db import session_scope
from core.models import User
from core.services import identity
from tests import factories


def test_active_user_id_names_the_signed_in_user_and_refuses_a_deactivated_one(db):
    with session_scope() as s:
        bank = factories.institution(s)
        officer = factories.user(s, bank, ["bank_officer"], subject="officer-active")
        user_id = officer.id
    actor = factories.actor("bank_officer", organization_id=bank.id)
    signed_in = type(actor)(**{**actor.__dict__, "label": "officer-active"})
    assert identity.active_user_id(actor=signed_in) == user_id
    with session_scope() as s:
        s.get(User, user_id).is_active = False
    assert identity.active_user_id(actor=signed_in) is None


def test_active_user_id_is_none_for_an_unknown_subject(db):
    stranger = factories.actor("enterprise_user")
    assert identity.active_user_id(actor=stranger) is None
