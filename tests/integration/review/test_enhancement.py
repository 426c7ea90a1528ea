"""Credit enhancement: attached by the enterprise or the officer, decided by the provider, blocking approval."""

from __future__ import annotations

import pytest

from core.errors import ConflictError, ForbiddenError, InvalidError, StaleVersionError
from core.services import application_detail, enhancement, review
from tests.integration.review.conftest import proposed, snapshot, submit


def test_a_pending_enhancement_blocks_approval_until_the_provider_decides(world):
    app = proposed(world)
    attached = enhancement.attach_enhancement(actor=world.owner, application_id=app.id,
                                              product_id=world.guarantee_product_id, coverage_pct=80)
    assert (attached.status, attached.provider_id, attached.coverage_pct) == ("pending", world.guarantee_id, 80)
    before = snapshot()
    with pytest.raises(ConflictError) as caught:
        review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                  action="approve")
    assert caught.value.key == "review.error.enhancement_pending"
    assert snapshot() == before
    detail = application_detail.application_review(actor=world.manager, application_id=app.id)
    assert detail.next_step == "review.staff_next.enhancement"
    assert application_detail.my_applications(actor=world.owner)[0].next_step == "review.next.enhancement"

    queue = enhancement.enhancement_queue(actor=world.guarantor, provider_id=world.guarantee_id)
    assert list(queue["application_id"]) == [app.id]
    enhancement.decide_enhancement(actor=world.guarantor, enhancement_id=attached.id, approve=True,
                                   expected_version=attached.version)
    done = review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                     action="approve")
    assert done.status == "approved"
    kinds = [i.kind for i in application_detail.my_applications(actor=world.owner)[0].timeline]
    assert "enhancement_requested" in kinds and "enhancement_approved" in kinds


def test_a_declined_enhancement_does_not_block_and_a_rejection_is_never_blocked(world):
    app = proposed(world)
    attached = enhancement.attach_enhancement_for_application(
        actor=world.officer, application_id=app.id, product_id=world.guarantee_product_id, coverage_pct="50")
    done = review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                     action="reject", reason_code="collateral")
    assert done.status == "rejected"
    with pytest.raises(ConflictError):  # the application closed: nothing left to decide
        enhancement.decide_enhancement(actor=world.guarantor, enhancement_id=attached.id, approve=True,
                                       expected_version=attached.version)

    app2 = proposed(world)
    second = enhancement.attach_enhancement(actor=world.owner, application_id=app2.id,
                                            product_id=world.guarantee_product_id, coverage_pct=60)
    with pytest.raises(InvalidError):
        enhancement.decide_enhancement(actor=world.guarantor, enhancement_id=second.id, approve=False,
                                       expected_version=second.version)
    enhancement.decide_enhancement(actor=world.guarantor, enhancement_id=second.id, approve=False,
                                   expected_version=second.version, note="反担保不足")
    assert review.decide_application(actor=world.manager, application_id=app2.id, expected_version=app2.version,
                                     action="approve").status == "approved"


def test_only_the_providers_staff_decide_and_only_once(world):
    app = submit(world)
    attached = enhancement.attach_enhancement(actor=world.owner, application_id=app.id,
                                              product_id=world.guarantee_product_id, coverage_pct=80)
    before = snapshot()
    for outsider in (world.insurer, world.manager, world.owner):
        with pytest.raises(ForbiddenError):
            enhancement.decide_enhancement(actor=outsider, enhancement_id=attached.id, approve=True,
                                           expected_version=attached.version)
    assert snapshot() == before
    with pytest.raises(ForbiddenError):
        enhancement.enhancement_queue(actor=world.insurer, provider_id=world.guarantee_id)
    enhancement.decide_enhancement(actor=world.guarantor, enhancement_id=attached.id, approve=True,
                                   expected_version=attached.version)
    with pytest.raises(StaleVersionError):
        enhancement.decide_enhancement(actor=world.guarantor, enhancement_id=attached.id, approve=False,
                                       expected_version=attached.version, note="重复")


def test_bad_attachments_are_refused_and_nothing_is_written(world):
    app = submit(world)
    ids = {"loan": world.product_id, "guarantee": world.guarantee_product_id, "unknown": 999_999}
    before = snapshot()
    for product, coverage in [("loan", 80), ("guarantee", 0), ("guarantee", 101), ("guarantee", "abc"),
                              ("unknown", 80)]:
        with pytest.raises(InvalidError):
            enhancement.attach_enhancement(actor=world.owner, application_id=app.id, product_id=ids[product],
                                           coverage_pct=coverage)
    assert snapshot() == before


def test_the_same_product_is_attached_once_and_not_by_another_enterprise(world):
    app = submit(world)
    enhancement.attach_enhancement(actor=world.owner, application_id=app.id,
                                   product_id=world.guarantee_product_id, coverage_pct=80)
    with pytest.raises(ConflictError):
        enhancement.attach_enhancement(actor=world.owner, application_id=app.id,
                                       product_id=world.guarantee_product_id, coverage_pct=70)
    with pytest.raises(ForbiddenError):
        enhancement.attach_enhancement(actor=world.stranger, application_id=app.id,
                                       product_id=world.guarantee_product_id, coverage_pct=70)
