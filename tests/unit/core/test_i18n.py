"""The message catalog: every key exists in both languages, and placeholders match."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.messages.pofile import read_po

from core.i18n import LOCALES_DIR, SUPPORTED_LOCALES, catalog, format_money_wan, normalize_locale, translate

PLACEHOLDER = re.compile(r"{(\w+)}")


def _domains(locale: str) -> dict[str, set[str]]:
    found = {}
    for path in (LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"):
        with path.open("rb") as handle:
            found[path.name] = {str(m.id) for m in read_po(handle) if m.id}
    return found


def test_every_domain_exists_in_every_locale_with_the_same_keys():
    zh, en = _domains("zh_CN"), _domains("en")
    assert set(zh) == set(en)
    for domain in zh:
        assert zh[domain] == en[domain], f"{domain}: {sorted(zh[domain] ^ en[domain])[:10]}"


def test_no_key_is_defined_in_two_domains():
    seen: dict[str, str] = {}
    for domain, keys in _domains("zh_CN").items():
        for key in keys:
            assert key not in seen, f"{key} in {domain} and {seen[key]}"
            seen[key] = domain


def test_placeholders_agree_between_languages():
    zh, en = catalog("zh_CN"), catalog("en")
    for key, text in zh.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(en[key])), key


def test_translations_are_actually_translated():
    zh, en = catalog("zh_CN"), catalog("en")
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert all(not cjk.search(text) for text in en.values()), [k for k, v in en.items() if cjk.search(v)][:5]
    assert sum(bool(cjk.search(text)) for text in zh.values()) > 0.8 * len(zh)


def test_unknown_locales_fall_back_to_chinese_and_unknown_keys_to_the_key():
    assert normalize_locale("en-US") == "en"
    assert normalize_locale("zh-Hans") == "zh_CN"
    assert normalize_locale("fr") == "zh_CN"
    assert set(SUPPORTED_LOCALES) == {"zh_CN", "en"}
    assert translate("no.such.key", "en") == "no.such.key"


def test_money_is_shown_in_wan_yuan():
    assert format_money_wan(Decimal("1234567"), "zh_CN") == "123.5 万元"
    assert format_money_wan(Decimal("1234567"), "en").startswith("¥123.5")
