"""The one message catalog: gettext ``.po`` files read with Babel, plus locale-aware formatting.

Message ids are stable dotted keys (``nav.overview``); each app area keeps its keys in its own
domain file (``core.po``, ``common.po``, ``enterprise.po`` …) under
``locales/<locale>/LC_MESSAGES/``, and all domains merge into one lookup per locale. Reading the
``.po`` text directly (no compiled ``.mo``) keeps the catalog a plain reviewed text file with no build
step; ``pybabel compile`` still works for tools that want ``.mo`` files.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
SUPPORTED_LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_LABELS = {"zh_CN": "中文", "en": "English"}


@lru_cache(maxsize=8)
def catalog(locale: str) -> dict[str, str]:
    """All messages of one locale, merged over every domain file."""
    messages: dict[str, str] = {}
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as handle:
            parsed = read_po(handle, locale=locale)
        for message in parsed:
            if message.id and message.string:
                messages[str(message.id)] = str(message.string)
    return messages


def normalize_locale(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    if locale in SUPPORTED_LOCALES:
        return locale
    lowered = locale.replace("-", "_").lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def translate(key: str, locale: str | None = None, /, **params: object) -> str:
    """The text for ``key`` in ``locale`` (falling back to Chinese, then to the key itself)."""
    loc = normalize_locale(locale)
    text = catalog(loc).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def format_number(value: float | int | Decimal | None, locale: str | None = None, digits: int = 0) -> str:
    if value is None:
        return "—"
    loc = normalize_locale(locale)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=loc)


def format_money_wan(yuan: float | int | Decimal | None, locale: str | None = None, digits: int = 1) -> str:
    """Yuan shown in 万元 (ten thousand yuan), the unit Chinese lenders and firms expect."""
    if yuan is None:
        return "—"
    wan = Decimal(str(yuan)) / Decimal(10_000)
    return translate("unit.wan_yuan_value", locale, value=format_number(wan, locale, digits))


def format_money_yi(yuan: float | int | Decimal | None, locale: str | None = None, digits: int = 2) -> str:
    """Yuan shown in 亿元 (hundred million yuan), for platform-wide totals."""
    if yuan is None:
        return "—"
    yi = Decimal(str(yuan)) / Decimal(100_000_000)
    return translate("unit.yi_yuan_value", locale, value=format_number(yi, locale, digits))
