"""Element-wise checks built on pandera's ``Check`` library, called directly on a column.

Why directly and not through ``DataFrameSchema.validate``: schema validation obeys pandera's global
switches (``PANDERA_VALIDATION_ENABLED=False``, ``PANDERA_VALIDATION_DEPTH=SCHEMA_ONLY``) and then
returns the frame as if every check had passed — a silent skip. A ``Check`` called on a Series
always runs and gives its boolean output, which we align back to the column's index. Nulls pass
every check here: completeness is its own rule, so one empty cell is reported once, as missing.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pandera.pandas as pa

from core.quality.normalize import credit_code_valid


def failing(values: pd.Series, check: pa.Check) -> pd.Series:
    """True where a non-null value fails ``check`` (pandera drops nulls from its output; they pass)."""
    if values.empty:
        return pd.Series(False, index=values.index)
    out = check(values).check_output
    return ~out.reindex(values.index, fill_value=True).astype(bool)


def as_number(values: pd.Series) -> pd.Series:
    """A numeric view of a column (Decimal, Int64, strings) as float64 with NaN for nulls."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    return pd.to_numeric(values.astype(object), errors="coerce").astype("float64")


def as_dates(values: pd.Series) -> pd.Series:
    """A ``datetime64[s]`` view (tz-aware values become naive UTC); unparseable become NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]")
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.astype("datetime64[s]")
    return pd.to_datetime(values, errors="coerce").astype("datetime64[s]")


def missing(values: pd.Series) -> pd.Series:
    """Null, or a string that is empty after trimming."""
    nulls = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        blank = values.astype("string").str.strip().eq("").fillna(False).astype(bool)
        return nulls | blank
    return nulls


def out_of_range(values: pd.Series, low: float | None, high: float | None, *,
                 low_inclusive: bool = True, high_inclusive: bool = True) -> pd.Series:
    num = as_number(values)
    bad = pd.Series(False, index=values.index)
    if low is not None:
        bad |= failing(num, pa.Check.ge(low) if low_inclusive else pa.Check.gt(low))
    if high is not None:
        bad |= failing(num, pa.Check.le(high) if high_inclusive else pa.Check.lt(high))
    # a value that is present but not a number is out of every range
    bad |= values.notna() & ~missing(values) & num.isna()
    return bad


def not_in(values: pd.Series, allowed) -> pd.Series:
    return failing(values.astype(object).where(values.notna(), None), pa.Check.isin(list(allowed)))


def not_matching(values: pd.Series, pattern: str) -> pd.Series:
    anchored = f"(?:{pattern})\\Z"
    return failing(values.astype("string"), pa.Check.str_matches(anchored))


def bad_length(values: pd.Series, low: int | None, high: int | None) -> pd.Series:
    return failing(values.astype("string"), pa.Check.str_length(low, high))


def bad_credit_code(values: pd.Series) -> pd.Series:
    present = ~missing(values)
    return present & ~credit_code_valid(values.astype("string"))


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def bad_id_number(values: pd.Series) -> pd.Series:
    """Resident ID numbers (GB 11643-1999): 18 characters, a real birth date, the check character."""
    s = values.astype("string").str.upper()
    present = ~missing(values)
    shape = s.str.fullmatch(r"\d{17}[\dX]").fillna(False).astype(bool)
    total = pd.Series(0, index=s.index, dtype="int64")
    body = s.where(shape, "0" * 18)
    for i, w in enumerate(_ID_WEIGHTS):
        total += body.str.slice(i, i + 1).astype("int64") * w
    check_ok = total.mod(11).map(lambda r: _ID_CHECK[r]).eq(body.str.slice(17, 18))
    birth = pd.to_datetime(body.str.slice(6, 14), format="%Y%m%d", errors="coerce")
    return present & ~(shape & check_ok & birth.notna())


def after(values: pd.Series, limit: date) -> pd.Series:
    return as_dates(values) > pd.Timestamp(limit)


def before(values: pd.Series, limit: date) -> pd.Series:
    return as_dates(values) < pd.Timestamp(limit)
