"""Normalizers: full-width text, Chinese dates, 元/万元 amounts, credit codes, enums, byte decoding."""

from __future__ import annotations

import random
from decimal import Decimal

import pandas as pd
import pytest

from core.quality import normalize as nz
from core.validators import CREDIT_CODE_CHARSET, is_valid_credit_code, make_credit_code


def test_full_width_digits_letters_punctuation_and_spaces_become_half_width():
    out = nz.to_halfwidth(pd.Series(["ＡＢＣ１２３（衡水）！　，", None]))
    assert out[0] == "ABC123(衡水)! ,"
    assert out.isna()[1]


def test_clean_text_trims_and_collapses_inner_space_and_empties_become_null():
    out = nz.clean_text(pd.Series(["  衡水  \t 公司 ", "　 ", ""]))
    assert out[0] == "衡水 公司" and out[1:].isna().all()


@pytest.mark.parametrize("raw", ["2024-01-05", "2024/1/5", "2024.1.5", "2024年1月5日", "20240105", "45296", 45296,
                                 45296.0, "２０２４－０１－０５", "2024-01-05 10:30:00", "2024年01月05日"])
def test_each_common_date_spelling_parses_to_the_same_day(raw):
    parsed = nz.parse_dates(pd.Series([raw], dtype=object))
    assert parsed.status[0] == "ok", parsed.status[0]
    assert parsed.values[0] == pd.Timestamp("2024-01-05")


@pytest.mark.parametrize("raw", ["2024-02-30", "2023-02-29", "2024-13-01", "2024年4月31日", "20241301"])
def test_impossible_dates_are_flagged_impossible_not_null(raw):
    parsed = nz.parse_dates(pd.Series([raw]))
    assert parsed.status[0] == "impossible" and pd.isna(parsed.values[0])


@pytest.mark.parametrize("raw", ["soon", "99999", "2024", "1/5/2024x"])
def test_unreadable_dates_are_flagged_unparseable(raw):
    assert nz.parse_dates(pd.Series([raw])).status[0] == "unparseable"


def test_leap_day_and_empty_cells():
    parsed = nz.parse_dates(pd.Series(["2024-02-29", None, "  "], dtype=object))
    assert parsed.values[0] == pd.Timestamp("2024-02-29")
    assert parsed.status.tolist() == ["ok", "empty", "empty"]


def test_months_parse_to_the_first_of_the_month():
    parsed = nz.parse_dates(pd.Series(["2024-03", "202403", "2024年3月", "2024-03-17"]), month_only=True)
    assert (parsed.values == pd.Timestamp("2024-03-01")).all()


def test_wan_yuan_converts_exactly_to_yuan_cents():
    parsed = nz.parse_amount_cents(pd.Series(["1.2345", "１２．５", "0.000001", "3"]), "wan")
    assert parsed.values.tolist() == [1_234_500, 12_500_000, 1, 3_000_000]
    yuan = nz.cents_to_yuan(parsed.values)
    assert yuan[0] == Decimal("12345.00") and yuan[2] == Decimal("0.01")


def test_unit_in_the_cell_or_a_unit_column_overrides_the_default():
    cells = nz.parse_amount_cents(pd.Series(["12.5万元", "12.5元", "1亿", "¥1,200.50"]), "yuan")
    assert cells.values.tolist() == [12_500_000, 1_250, 10_000_000_000, 120_050]
    per_row = nz.parse_amount_cents(pd.Series(["2", "2"]), pd.Series(["万元", "元"]))
    assert per_row.values.tolist() == [2_000_000, 200]


def test_negative_and_bracketed_amounts_and_bad_ones():
    parsed = nz.parse_amount_cents(pd.Series(["-5", "(1,000)", "12.345", "abc", "5 美元", None]), "yuan")
    assert parsed.values[:2].tolist() == [-500, -100_000]
    assert parsed.status.tolist()[2:] == ["impossible", "unparseable", "unparseable", "empty"]


def test_vectorized_credit_code_check_agrees_with_the_scalar_validator():
    rnd = random.Random(3)
    codes = []
    for _ in range(2000):
        first = "91" + "".join(rnd.choice("0123456789") for _ in range(6)) + \
            "".join(rnd.choice(CREDIT_CODE_CHARSET) for _ in range(9))
        code = make_credit_code(first)
        if rnd.random() < 0.5:
            code = code[:17] + rnd.choice(CREDIT_CODE_CHARSET + "IOZ")
        codes.append(code)
    codes += ["", "short", "91131102MA0A1B2C3", "9113110２MA0A1B2C3X", "x" * 18]
    fast = nz.credit_code_valid(pd.Series(codes))
    assert fast.tolist() == [is_valid_credit_code(c) for c in codes]


def test_credit_codes_are_cleaned_upper_cased_and_problems_named():
    good = make_credit_code("91131102MA0A1B2C3")
    codes, problems = nz.normalize_credit_codes(pd.Series([good.lower(), f" {good[:9]} {good[9:]} ",
                                                           good[:17] + "0" if good[17] != "0" else good[:17] + "1",
                                                           "ＡＢ"]))
    assert codes[0] == good and codes[1] == good
    assert problems.tolist() == ["", "", "error.credit_code.check_char", "error.credit_code.length"]


def test_enum_mapping_maps_known_labels_and_never_guesses():
    parsed = nz.map_enum(pd.Series(["小微", "小型 ", "Micro", "巨型", None]), nz.ENUM_MAPS["scale"])
    assert parsed.values[:3].tolist() == ["small", "small", "micro"]
    assert parsed.status.tolist()[3:] == ["unparseable", "empty"]
    grades = nz.map_enum(pd.Series(["A级", "ｍ", "d"]), nz.ENUM_MAPS["tax_grade"])
    assert grades.values.tolist() == ["A", "M", "D"]


def test_decoding_detects_utf8_bom_gbk_and_gb18030():
    text = "统一社会信用代码,企业名称\n衡水"
    assert nz.decode_bytes(text.encode("utf-8")) == (text, "utf-8")
    assert nz.decode_bytes(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert nz.decode_bytes(text.encode("gbk")) == (text, "gbk")
    rare = "𠀀企业"  # outside GBK, inside GB18030
    assert nz.decode_bytes(rare.encode("gb18030")) == (rare, "gb18030")


def test_undecodable_bytes_raise_instead_of_being_replaced():
    with pytest.raises(nz.EncodingUndetectedError) as info:
        nz.decode_bytes(b"abc\x80\x80\xff\xfe")
    assert info.value.key == "dq.import.encoding"
    with pytest.raises(nz.EncodingUndetectedError):
        nz.decode_bytes("衡水".encode("gbk"), encoding="utf-8")
