"""Inboxes: a notice addressed to a regulator's office reaches its staff and no other office."""

from __future__ import annotations

from core.db import session_scope
from core.models import Notification
from core.models.types import OrgKind
from core.services import notifications
from tests import factories


def test_a_notice_to_a_regulator_office_reaches_its_staff_only(db):
    with session_scope() as s:
        office = factories.institution(s, kind=OrgKind.regulator)
        other = factories.institution(s, kind=OrgKind.regulator)
        analyst = factories.user(s, office, ["regulator_analyst"])
        outsider = factories.user(s, other, ["regulator_analyst"])
        s.add(Notification(organization_id=office.id, kind="risk_signal", title="红色预警：某企业"))
        ids = (office.id, other.id, analyst.id, outsider.id)
    office_id, other_id, analyst_id, outsider_id = ids
    mine = notifications.my_notifications(
        actor=factories.actor("regulator_analyst", organization_id=office_id, user_id=analyst_id)
    )
    theirs = notifications.my_notifications(
        actor=factories.actor("regulator_analyst", organization_id=other_id, user_id=outsider_id)
    )
    assert mine["title"].tolist() == ["红色预警：某企业"]
    assert theirs.empty
    assert notifications.unread_count(
        actor=factories.actor("regulator_analyst", organization_id=office_id, user_id=analyst_id)
    ) == 1
