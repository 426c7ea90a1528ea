"""Identifier validators shared by models, services and imports (pure functions, no I/O)."""

from __future__ import annotations

from core.errors import InvalidError

# GB 32100-2015: the 31 characters a unified social credit code may use (no I, O, Z, S, V).
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_FORBIDDEN = set("IOZSV")
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CHAR_VALUE = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}


class CreditCodeInvalidError(InvalidError):
    """The unified social credit code is malformed; the key says exactly how."""

    key = "error.credit_code.check_char"

    def __init__(self, key: str | None = None, **params) -> None:
        super().__init__(key, field="credit_code", **params)


def credit_code_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a code."""
    total = sum(_CHAR_VALUE[c] * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return ``code`` if it is a valid 18-character unified social credit code, else raise.

    Raises:
        CreditCodeInvalidError: with a message key naming the exact problem.
    """
    if not isinstance(code, str) or len(code) != 18:
        raise CreditCodeInvalidError("error.credit_code.length", length=len(code or ""))
    if code != code.upper():
        raise CreditCodeInvalidError("error.credit_code.lowercase")
    bad = sorted(set(code) & CREDIT_CODE_FORBIDDEN)
    if bad:
        raise CreditCodeInvalidError("error.credit_code.forbidden_letter", letters="".join(bad))
    if any(c not in _CHAR_VALUE for c in code):
        raise CreditCodeInvalidError("error.credit_code.charset")
    if not code[2:8].isdigit():
        raise CreditCodeInvalidError("error.credit_code.division")
    if credit_code_check_char(code[:17]) != code[17]:
        raise CreditCodeInvalidError("error.credit_code.check_char")
    return code


def is_valid_credit_code(code: str) -> bool:
    try:
        validate_credit_code(code)
    except CreditCodeInvalidError:
        return False
    return True


def make_credit_code(first17: str) -> str:
    """Complete 17 characters into a valid code (demo data and tests)."""
    return first17 + credit_code_check_char(first17)
