"""Masking of personal data: the value masks and the rule that picks a level by viewer and consent."""

from __future__ import annotations

import pytest

from core.auth.masking import (
    Disclosure,
    disclosure_for,
    mask_email,
    mask_id_number,
    mask_name,
    mask_person,
    mask_phone,
)
from tests import factories


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("130102199001011234", "130102********1234"),
        ("13010219900101123X", "130102********123X"),
        ("130102900101123", "130102******123"),  # 15-digit first-generation card
        ("12345", "***45"),
        ("", ""),
        (None, None),
    ],
)
def test_identity_numbers_keep_only_the_region_and_the_last_characters(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("8613812345678", "86138****5678"),
        ("0318-2345678", "0318-***5678"),  # Hengshui landline: area code kept
        ("010-12345678", "010-****5678"),
        ("2345678", "***5678"),
        (None, None),
    ],
)
def test_phone_numbers_hide_their_middle_digits(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳修", "欧阳*"),
        ("司马光", "司马*"),
        ("李", "*"),
        ("John Smith", "J*** S****"),
        ("", ""),
        (None, None),
    ],
)
def test_personal_names_keep_only_the_surname(value, masked):
    assert mask_name(value) == masked


def test_emails_keep_the_domain_and_the_first_characters():
    assert mask_email("zhangsan@example.com") == "zh***@example.com"
    assert mask_email("li@example.cn") == "l***@example.cn"
    assert mask_email(None) is None


def test_masking_never_leaks_the_hidden_part():
    assert "19900101" not in mask_id_number("130102199001011234")  # the birth date
    assert "1234" not in mask_phone("13812345678")
    assert len(mask_id_number("130102199001011234")) == 18 and len(mask_phone("13812345678")) == 11


ENTERPRISE_ID = 7


def test_the_enterprise_itself_sees_everything():
    own = factories.actor("enterprise_user", enterprise_id=ENTERPRISE_ID, organization_id=3)
    assert disclosure_for(own, enterprise_id=ENTERPRISE_ID) is Disclosure.full


def test_another_enterprise_sees_everything_masked_even_with_scopes_passed():
    other = factories.actor("enterprise_user", enterprise_id=8, organization_id=4)
    assert disclosure_for(other, enterprise_id=ENTERPRISE_ID, consent_scopes={"basic"}) is Disclosure.masked


def test_institution_staff_see_contacts_only_with_a_basic_grant():
    officer = factories.actor("bank_officer", organization_id=10)
    assert (
        disclosure_for(officer, enterprise_id=ENTERPRISE_ID, consent_scopes={"basic"}) is Disclosure.contact
    )
    assert (
        disclosure_for(officer, enterprise_id=ENTERPRISE_ID, consent_scopes={"financials"})
        is Disclosure.masked
    )
    assert disclosure_for(officer, enterprise_id=ENTERPRISE_ID) is Disclosure.masked


def test_regulators_see_masked_data_unless_they_state_a_purpose():
    analyst = factories.actor("regulator_analyst", organization_id=2)
    assert disclosure_for(analyst, enterprise_id=ENTERPRISE_ID) is Disclosure.masked
    assert disclosure_for(analyst, enterprise_id=ENTERPRISE_ID, purpose="  ") is Disclosure.masked
    assert disclosure_for(analyst, enterprise_id=ENTERPRISE_ID, purpose="风险核查") is Disclosure.contact


def test_a_purpose_alone_gives_institution_staff_nothing():
    officer = factories.actor("bank_officer", organization_id=10)
    assert disclosure_for(officer, enterprise_id=ENTERPRISE_ID, purpose="贷前调查") is Disclosure.masked


PERSON = {
    "name": "欧阳娜娜",
    "id_number": "130102199001011234",
    "phone": "13812345678",
    "email": "ouyang@example.com",
}


def test_mask_person_applies_each_level():
    assert mask_person(Disclosure.full, **PERSON) == PERSON
    assert mask_person("contact", **PERSON) == {**PERSON, "id_number": "130102********1234"}
    assert mask_person(Disclosure.masked, **PERSON) == {
        "name": "欧阳**",
        "id_number": "130102********1234",
        "phone": "138****5678",
        "email": "ou***@example.com",
    }
