"""The GB 32100-2015 unified social credit code validator."""

from __future__ import annotations

import pytest

from core.validators import (
    CREDIT_CODE_CHARSET,
    CreditCodeInvalidError,
    credit_code_check_char,
    is_valid_credit_code,
    make_credit_code,
    validate_credit_code,
)

# Published codes of real registered entities (their check characters are authoritative).
REAL_CODES = ["91350100M000100Y43", "911100001000128855", "91110000802100433B"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_published_codes_are_valid(code):
    assert validate_credit_code(code) == code


def test_every_wrong_check_character_is_refused():
    code = REAL_CODES[0]
    wrong = [c for c in CREDIT_CODE_CHARSET if c != code[17]]
    assert len(wrong) == 30
    for c in wrong:
        with pytest.raises(CreditCodeInvalidError) as info:
            validate_credit_code(code[:17] + c)
        assert info.value.key == "error.credit_code.check_char"


def test_single_character_typo_is_caught():
    code = REAL_CODES[1]
    for position in range(17):
        replacement = "1" if code[position] != "1" else "2"
        typo = code[:position] + replacement + code[position + 1 :]
        assert not is_valid_credit_code(typo), position


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("91350100M000100Y4", "error.credit_code.length"),
        ("91350100M000100Y433", "error.credit_code.length"),
        ("", "error.credit_code.length"),
        ("91350100m000100Y43", "error.credit_code.lowercase"),
        ("91350100I000100Y43", "error.credit_code.forbidden_letter"),
        ("91350100O000100Y43", "error.credit_code.forbidden_letter"),
        ("91350100Z000100Y43", "error.credit_code.forbidden_letter"),
        ("91350100S000100Y43", "error.credit_code.forbidden_letter"),
        ("91350100V000100Y43", "error.credit_code.forbidden_letter"),
        ("9135010-M000100Y43", "error.credit_code.charset"),
        ("91AB0100M000100Y43", "error.credit_code.division"),
    ],
)
def test_malformed_codes_get_a_precise_message(code, key):
    with pytest.raises(CreditCodeInvalidError) as info:
        validate_credit_code(code)
    assert info.value.key == key
    assert info.value.field == "credit_code"


def test_messages_are_localized():
    with pytest.raises(CreditCodeInvalidError) as info:
        validate_credit_code("91350100V000100Y43")
    zh, en = info.value.message("zh_CN"), info.value.message("en")
    assert "V" in zh and "统一社会信用代码" in zh
    assert "unified social credit code" in en
    assert zh != en


def test_make_credit_code_completes_with_the_check_character():
    code = make_credit_code("91131102MA0000001")
    assert code[:17] == "91131102MA0000001"
    assert code[17] == credit_code_check_char("91131102MA0000001")
    assert is_valid_credit_code(code)
