"""Pure, vectorized normalizers for department data: text, dates, amounts, credit codes, enums, bytes.

Every parser returns its values together with a per-row status, so a caller can tell an empty cell
from an unreadable one and from an impossible one (``2024-02-30``) and report each row with its reason;
nothing is coerced to a silent null. No I/O, no clock: ``as_of`` is passed where a date needs it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from core.errors import InvalidError
from core.validators import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_WEIGHTS,
    CreditCodeInvalidError,
    validate_credit_code,
)

# Status codes of one parsed cell (also the suffix of its message key ``dq.cell.<status>``).
OK = "ok"
EMPTY = "empty"
UNPARSEABLE = "unparseable"
IMPOSSIBLE = "impossible"

# ------------------------------------------------------------------------------------------ text

# Full-width ASCII variants U+FF01–U+FF5E map to U+0021–U+007E; the ideographic space to a space.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20
_HALFWIDTH.update({0x00A0: 0x20, 0x2002: 0x20, 0x2003: 0x20, 0x2009: 0x20, 0x200B: None, 0xFEFF: None})
_WS = re.compile(r"\s+")


def to_halfwidth(values: pd.Series) -> pd.Series:
    """Full-width digits, letters, punctuation and spaces to their half-width forms (nulls kept)."""
    s = values.astype("string")
    return s.str.translate(_HALFWIDTH)


def clean_text(values: pd.Series) -> pd.Series:
    """Half-width, trimmed, inner whitespace collapsed to one space; empty strings become null."""
    s = to_halfwidth(values).str.replace(_WS, " ", regex=True).str.strip()
    return s.mask(s == "")


def clean_code(values: pd.Series) -> pd.Series:
    """Identifiers (codes, numbers): half-width, every space removed, upper-cased; empty becomes null."""
    s = to_halfwidth(values).str.replace(_WS, "", regex=True).str.upper()
    return s.mask(s == "")


# ------------------------------------------------------------------------------------------ dates

@dataclass(frozen=True)
class Parsed:
    """Values parsed from one column and each row's status (ok, empty, unparseable, impossible)."""

    values: pd.Series
    status: pd.Series

    @property
    def bad(self) -> pd.Series:
        return self.status.isin([UNPARSEABLE, IMPOSSIBLE])


_DATE_SEP = re.compile(r"[年月/.\-]")
_YMD = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?(?:日)?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})?$")
_SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")
_EXCEL_EPOCH = np.datetime64("1899-12-30")  # Excel's day 0 on the 1900 system (after the Lotus leap-year bug)
_SERIAL_MIN, _SERIAL_MAX = 10_000, 80_000  # 1927-05-18 .. 2119-01-10; other 5-digit numbers are not dates


def parse_dates(values: pd.Series, *, month_only: bool = False) -> Parsed:
    """Parse common Chinese date spellings into ``datetime64[s]`` at midnight.

    Accepted: ``2024-01-05``, ``2024/1/5``, ``2024.1.5``, ``2024年1月5日``, ``20240105``, Excel serial
    day numbers (``45296``), full-width digits, a trailing time of day; with ``month_only`` also
    ``2024-01``, ``2024年1月`` and ``202401`` (the first of the month). A well-formed date that does not
    exist (``2024-02-30``, month 13) is ``impossible``; anything else unreadable is ``unparseable``.

    Args:
        values: the raw column (strings, numbers, datetimes or nulls).
        month_only: the column holds months (a period); the day, if given, is set to 1.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values.astype("datetime64[s]")
        if month_only:
            out = out.dt.to_period("M").dt.to_timestamp().astype("datetime64[s]")
        return Parsed(out, pd.Series(np.where(out.isna(), EMPTY, OK), index=values.index, dtype="string"))
    text = clean_code(values)  # half-width, no spaces inside (a time's space is restored below)
    text = text.str.replace(r"(\d)(\d{1,2}:\d{2})", r"\1 \2", regex=True)
    empty = text.isna()
    serial = text.str.fullmatch(_SERIAL).fillna(False).astype(bool)
    unified = text.str.replace("日", "", regex=False).str.replace(_DATE_SEP, "-", regex=True).str.rstrip("-")
    parts = unified.str.extract(_YMD)
    compact = text.str.extract(_COMPACT)
    parts = parts.fillna(compact)  # both patterns cannot match one cell
    year = pd.to_numeric(parts["y"], errors="coerce")
    month = pd.to_numeric(parts["m"], errors="coerce")
    day = pd.to_numeric(parts["d"], errors="coerce")
    has_day = day.notna()
    if month_only:
        day = pd.Series(1.0, index=values.index).where(year.notna())
    well_formed = year.notna() & month.notna() & (has_day | month_only)
    iso = (
        year.where(well_formed).astype("Int64").astype("string").str.zfill(4) + "-"
        + month.where(well_formed).astype("Int64").astype("string").str.zfill(2) + "-"
        + day.where(well_formed).astype("Int64").astype("string").str.zfill(2)
    )
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")
    serial_num = pd.to_numeric(text.where(serial), errors="coerce")
    in_serial_range = serial_num.between(_SERIAL_MIN, _SERIAL_MAX)
    from_serial = pd.Series(
        (_EXCEL_EPOCH + serial_num.where(in_serial_range).fillna(0).astype("int64").to_numpy().astype("timedelta64[D]"))
        .astype("datetime64[s]"),
        index=values.index,
    ).where(in_serial_range)
    if month_only:
        from_serial = from_serial.dt.to_period("M").dt.to_timestamp().astype("datetime64[s]")
    out = parsed.where(~serial, from_serial)
    status = np.select(
        [empty.to_numpy(bool), out.notna().to_numpy(bool), (well_formed & ~serial).to_numpy(bool)],
        [EMPTY, OK, IMPOSSIBLE],
        default=UNPARSEABLE,
    )
    return Parsed(out, pd.Series(status, index=values.index, dtype="string"))


# ------------------------------------------------------------------------------------------ amounts

UNIT_FACTORS = {"yuan": 1, "wan": 10_000, "yi": 100_000_000}
_UNIT_WORDS = {"元": "yuan", "人民币元": "yuan", "万元": "wan", "万": "wan", "亿元": "yi", "亿": "yi",
               "YUAN": "yuan", "CNY": "yuan", "RMB": "yuan", "WAN": "wan", "YI": "yi"}
_AMOUNT = re.compile(r"^(?P<neg>-)?(?P<int>\d+)(?:\.(?P<frac>\d+))?(?P<unit>[^\d.]*)$")


def unit_of(label: object) -> str | None:
    """The unit named by a unit cell or header suffix (``万元`` → ``wan``), or None if not one."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return None
    text = str(label).translate(_HALFWIDTH).strip().upper()
    return _UNIT_WORDS.get(text) or (text.lower() if text.lower() in UNIT_FACTORS else None)


def _units(labels: pd.Series) -> pd.Series:
    """Unit labels to unit names, looked up once per distinct label (object dtype; None if not a unit)."""
    raw = labels.astype(object).where(labels.notna(), None)
    table = {u: (unit_of(u) if isinstance(u, str) and u else None) for u in raw.unique() if u is not None}
    return pd.Series([table.get(u) if u is not None else None for u in raw], index=labels.index, dtype=object)


def parse_amount_cents(values: pd.Series, unit: str | pd.Series = "yuan") -> Parsed:
    """Parse money into exact integer **cents of yuan** (``Int64``), converting 万元/亿元.

    Cells may carry thousands separators, full-width digits, ``(1,200.50)`` for negatives, a
    currency sign, and a unit word (``12.5万元``) that overrides ``unit``. No float is involved, so
    ``0.1`` 万元 is exactly 100000 cents. More precision than a cent after conversion is ``impossible``.

    Args:
        values: the raw column.
        unit: ``"yuan"``, ``"wan"`` or ``"yi"`` for the whole column, or a per-row Series of unit
            labels (a department's unit column; ``万元``, ``元``, …).
    """
    text = clean_code(values)
    text = text.str.replace(",", "", regex=False).str.replace("¥", "", regex=False).str.replace("￥", "", regex=False)
    paren = text.str.fullmatch(r"\(.*\)").fillna(False).astype(bool)
    text = text.where(~paren, "-" + text.str.slice(1, -1))
    parts = text.str.extract(_AMOUNT)
    cell_unit = _units(parts["unit"])
    bad_unit = parts["unit"].fillna("").ne("") & cell_unit.isna()
    if isinstance(unit, pd.Series):
        row_unit = _units(unit)
        bad_unit |= unit.notna() & row_unit.isna()
        row_unit = row_unit.fillna("yuan")
    else:
        if unit not in UNIT_FACTORS:
            raise ValueError(f"unknown unit {unit!r}")
        row_unit = pd.Series(unit, index=values.index)
    final_unit = cell_unit.fillna(row_unit)
    factor_cents = final_unit.map(UNIT_FACTORS).fillna(1).astype("int64") * 100
    frac = parts["frac"].fillna("")
    scale = factor_cents.astype(str).str.len() - 1  # decimal digits one unit's cents can absorb
    too_precise = frac.str.rstrip("0").str.len() > scale
    frac_padded = pd.Series([f.ljust(s, "0")[:s] for f, s in zip(frac, scale, strict=True)], index=values.index)
    whole = pd.to_numeric(parts["int"], errors="coerce")
    frac_cents = pd.to_numeric(frac_padded.where(frac_padded != "", "0"), errors="coerce")
    ok = whole.notna() & ~bad_unit & ~too_precise
    big = whole.where(ok) > 9e13  # beyond 18 money digits; refuse rather than overflow
    ok &= ~big.fillna(False)
    cents = (whole.where(ok).fillna(0).astype("int64") * factor_cents + frac_cents.where(ok).fillna(0).astype("int64"))
    cents = cents.where(parts["neg"].isna(), -cents)
    out = cents.astype("Int64").where(ok)
    status = np.select(
        [text.isna().to_numpy(bool), ok.to_numpy(bool), (too_precise | big.fillna(False)).to_numpy(bool)],
        [EMPTY, OK, IMPOSSIBLE],
        default=UNPARSEABLE,
    )
    return Parsed(out, pd.Series(status, index=values.index, dtype="string"))


def cents_to_yuan(cents: pd.Series) -> pd.Series:
    """Integer cents to ``Decimal`` yuan with two places (object column; nulls stay None)."""
    return pd.Series(
        [None if pd.isna(c) else Decimal(int(c)).scaleb(-2) for c in cents], index=cents.index, dtype=object
    )


def parse_number(values: pd.Series, *, integer: bool = False) -> Parsed:
    """Plain numbers (counts, kWh, percentages): half-width, separators and a ``%`` removed."""
    text = clean_code(values).str.replace(",", "", regex=False).str.rstrip("%")
    num = pd.to_numeric(text, errors="coerce")
    ok = num.notna()
    impossible = pd.Series(False, index=values.index)
    if integer:
        impossible = ok & (num != num.round())
        ok &= ~impossible
        num = num.where(ok).astype("Int64")
    status = np.select(
        [text.isna().to_numpy(bool), ok.to_numpy(bool), impossible.to_numpy(bool)], [EMPTY, OK, IMPOSSIBLE],
        default=UNPARSEABLE,
    )
    return Parsed(num.where(ok), pd.Series(status, index=values.index, dtype="string"))


# ------------------------------------------------------------------------------------------ credit codes

_CS_LOOKUP = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(CREDIT_CODE_CHARSET):
    _CS_LOOKUP[ord(_c)] = _i
_WEIGHTS = np.array(CREDIT_CODE_WEIGHTS, dtype=np.int64)


def credit_code_valid(codes: pd.Series) -> pd.Series:
    """Vectorized GB 32100-2015 check (charset, digits 3–8, check character); nulls are False.

    Agrees with :func:`core.validators.is_valid_credit_code` (a test compares them on random codes).
    """
    s = codes.astype("string")
    ok = s.str.len().eq(18).fillna(False).astype(bool) & s.str.isascii().fillna(False).astype(bool)
    result = np.zeros(len(s), dtype=bool)
    idx = np.flatnonzero(ok.to_numpy())
    if len(idx):
        raw = np.frombuffer("".join(s.iloc[idx].tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        vals = _CS_LOOKUP[raw]
        charset_ok = (vals >= 0).all(axis=1)
        digits_ok = ((raw[:, 2:8] >= 48) & (raw[:, 2:8] <= 57)).all(axis=1)
        total = (np.where(vals[:, :17] >= 0, vals[:, :17], 0) * _WEIGHTS).sum(axis=1)
        check = (31 - total % 31) % 31
        result[idx] = charset_ok & digits_ok & (check == vals[:, 17])
    return pd.Series(result, index=codes.index)


def credit_code_problem(code: str | None) -> str:
    """The message key naming exactly what is wrong with one code (``error.credit_code.*``)."""
    if code is None or code is pd.NA:
        return "dq.cell.empty"
    try:
        validate_credit_code(code)
    except CreditCodeInvalidError as exc:
        return exc.key
    return ""


def normalize_credit_codes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean codes (half-width, no spaces, upper case) and a per-row problem key ('' when valid).

    Only the invalid codes go through the scalar validator, to name their exact problem.
    """
    codes = clean_code(values)
    valid = credit_code_valid(codes)
    problems = pd.Series("", index=values.index, dtype="string")
    bad = ~valid
    if bad.any():
        uniq = codes[bad].astype(object).where(codes[bad].notna(), None).unique()
        keys = {c: credit_code_problem(c) for c in uniq}
        problems[bad] = codes[bad].astype(object).where(codes[bad].notna(), None).map(keys)
    return codes, problems


# ------------------------------------------------------------------------------------------ enums

# Source labels -> canonical values. Keys are compared after half-width, trimming and upper-casing.
ENUM_MAPS: dict[str, dict[str, str]] = {
    "scale": {
        "MICRO": "micro", "微型": "micro", "微型企业": "micro", "微": "micro",
        "SMALL": "small", "小型": "small", "小型企业": "small", "小微": "small", "小微企业": "small", "小": "small",
        "MEDIUM": "medium", "中型": "medium", "中型企业": "medium", "中": "medium",
        "LARGE": "large", "大型": "large", "大型企业": "large", "大": "large",
    },
    "tax_grade": {g: g for g in "ABMCD"} | {f"{g}级": g for g in "ABMCD"} | {f"{g}类": g for g in "ABMCD"},
    "holder_type": {
        "PERSON": "person", "自然人": "person", "个人": "person", "自然人股东": "person",
        "ENTERPRISE": "enterprise", "企业": "enterprise", "法人": "enterprise", "企业法人": "enterprise",
        "法人股东": "enterprise",
    },
    "case_role": {"DEFENDANT": "defendant", "被告": "defendant", "被执行人": "defendant",
                  "PLAINTIFF": "plaintiff", "原告": "plaintiff", "申请执行人": "plaintiff"},
}


def map_enum(values: pd.Series, mapping: dict[str, str]) -> Parsed:
    """Map source labels to canonical values; an unknown label is ``unparseable``, never guessed."""
    key = clean_code(values)
    upper_map = {k.translate(_HALFWIDTH).replace(" ", "").upper(): v for k, v in mapping.items()}
    out = key.map(upper_map)
    status = np.select([key.isna().to_numpy(bool), out.notna().to_numpy(bool)], [EMPTY, OK], default=UNPARSEABLE)
    return Parsed(out.astype("string"), pd.Series(status, index=values.index, dtype="string"))


# ------------------------------------------------------------------------------------------ bytes

class EncodingUndetectedError(InvalidError):
    """The file is neither UTF-8 (with or without BOM) nor GBK/GB18030 (nor a UTF-16 with BOM)."""

    key = "dq.import.encoding"


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_bytes(content: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode text bytes, detecting the encoding; returns ``(text, encoding_name)``.

    Order: a byte-order mark; strict UTF-8; strict GB18030 (a superset of GBK and GB2312, reported as
    ``gbk`` when the text also encodes in GBK). A file readable by none raises; nothing is decoded
    with replacement characters.

    Raises:
        EncodingUndetectedError: with the byte offset of the first undecodable byte.
    """
    if encoding:
        try:
            return content.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise EncodingUndetectedError(encoding=encoding, offset=getattr(exc, "start", 0)) from exc
    for bom, name in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(name), name
            except UnicodeDecodeError as exc:
                raise EncodingUndetectedError(encoding=name, offset=exc.start) from exc
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise EncodingUndetectedError(encoding="utf-8/gb18030", offset=utf8_error.start) from exc
        if "\ufffd" in text or any(0xE000 <= ord(ch) <= 0xF8FF for ch in text):
            # GB18030 maps a few stray byte pairs into the private-use area: not a real Chinese text file
            raise EncodingUndetectedError(encoding="utf-8/gb18030", offset=utf8_error.start) from utf8_error
        try:
            text.encode("gbk")
            return text, "gbk"
        except UnicodeEncodeError:
            return text, "gb18030"
